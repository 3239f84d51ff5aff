// The tree-attention kernel's launch, shared by its CUDA source (aded_tree_attention.cu, built by nvcc) and the
// helper's libtorch side (aded_cuda_graphs.cpp, built by g++), which checks the tensors, allocates the output and
// the work space, and passes their pointers.
#pragma once

#include <cuda_runtime_api.h>

// Strides count elements. Attention has A sequences ("attention sequences": a batch's slots or gathered sequences),
// each of t query tokens; every token has qH query heads, g to each of kvH key/value heads (qH = g·kvH).
struct TreeAttentionArgs {
  const void* q;  // [A·t, qH, D]: row stride q_row, head stride q_head, dimensions contiguous
  long long q_row, q_head;
  const void* k;  // [kvH, A, L, D]: head, sequence and key strides, dimensions contiguous
  long long k_head, k_seq, k_key;
  const long long* slots;  // on the device, [A]: sequence a reads k's and v's sequence slots[a]; null: a
  // On the device, [3, A], or null: sequence a's keys from bounds[a] on and its tokens from bounds[A + a] on (its
  // tree's padding) are masked for every row, and its keys below bounds[2A + a] (its past) are open for every row of
  // its other tokens, so blocks leave those keys unread and write zeros for those tokens without reading the mask,
  // and read it for the tree's keys alone; null: the mask alone says, read a chunk ahead.
  const long long* bounds;
  const void* v;  // as k
  long long v_head, v_seq, v_key;
  const void* mask;  // additive, [A, t, L] (m_seq 0 for [t, L]), any strides; null: every key open
  long long m_seq, m_row, m_key;
  void* out;  // [A·t, qH, D], contiguous
  int sequences, tokens, keys, kv_heads, group, head_dim;
  bool half;  // f16, else f32
  // The keys' split among blocks (aded_tree_attention_split): chunks of keys a block, blocks a row tile, and
  // where each split's partial softmax sums go when there are several: splits × A·t·qH × (D + 2) floats, which the
  // launch combines into out.
  int per_split, splits;
  float* partial;
  // f16 only: the warp layout (aded_tree_attention_warps.cu), each warp its own 16 rows in registers, in place of
  // the block layout's four warps a 16-row tile.
  bool warps;
};

// Whether the kernel takes this head dimension.
bool aded_tree_attention_supports(int head_dim);

// Sets how the keys split into parts, each a block's, so that a pass of few sequences still fills the GPU; a
// single split needs no work space.
void aded_tree_attention_split(TreeAttentionArgs& args);

// Launches softmax(q·kᵀ + mask)·v on stream (scale 1: the weights carry it). Returns the launch's error.
cudaError_t aded_tree_attention_launch(const TreeAttentionArgs& args, cudaStream_t stream);

// Shared by both layouts' launches (not the helper's business): the blocks of `kernel` one multiprocessor holds at
// once with `shared_bytes` of dynamic shared memory (which it is first allowed to use past 48 KB), at least 1; and,
// for a pass whose row tiles take `tiles` blocks, how its keys split among blocks in chunks of `chunk` keys: as many
// splits as one wave of `wave` blocks holds, at least one, at most a chunk each (per_split and splits).
int aded_tree_attention_resident(const void* kernel, int threads, int shared_bytes);
void aded_tree_attention_set_splits(TreeAttentionArgs& args, long long tiles, long long wave, int chunk);

// Combines the splits' partial sums into the output: what both layouts launch after a pass of several splits.
cudaError_t aded_tree_attention_combine(const TreeAttentionArgs& args, cudaStream_t stream);

// The warp layout's split and launch, for f16 (aded_tree_attention_warps.cu); processors: the GPU's multiprocessors.
void aded_tree_attention_warps_split(TreeAttentionArgs& args, int processors);
cudaError_t aded_tree_attention_warps_launch(const TreeAttentionArgs& args, cudaStream_t stream);
