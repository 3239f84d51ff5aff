// Attention of a batch of draft trees in one kernel: softmax(q·kᵀ + mask)·v for every query row of every sequence,
// reading the keys and values where they are (a batch's slots in the KV cache, or a gathered copy) and the additive
// tree mask as the pass built it.
//
// Why a kernel of our own: DJL's four operators (scores, mask add, softmax, product with the values) and the copies
// that group the query heads took 85 of code-15m's 177 µs a layer in a 16-sequence pass, each a round trip of the
// scores through device memory, and libtorch's fused kernels either run a block per sequence and 64 query rows over
// all keys (memory-efficient attention: slow for few sequences) or take no arbitrary mask (flash attention).
//
// The work: a block per (16 query rows, part of the keys, kv head, sequence). The rows are a kv head's query heads
// for some tokens, so they share its keys. Keys and values go through shared memory a chunk at a time, scores and
// weighted values on tensor cores in f16 (WMMA; CUDA cores in f32, which is for exact checks), the softmax as flash
// attention keeps it: a running maximum and sum per row, earlier sums rescaled when the maximum grows. A pass of few
// sequences splits its keys among blocks (flash-decoding), whose partial sums a second kernel combines. A chunk whose
// keys are all masked for the block's rows (past a sequence's length in a bucket of keys, or rows of padding) is
// skipped unread. A batched pass says where each sequence's open keys and real tokens end and up to where its
// past is open to every real token (bounds): its blocks then leave the keys past the first unread without reading
// the mask first, the row tiles of a tree's padding (a pass's bucket holds its largest tree) write zeros at once,
// and only the tree's chunks read the mask.
//
// A block is a chain of short dependent steps (a 16-sequence pass of code-15m reads only 2 MB a layer), so a chunk's
// keys and values arrive together by asynchronous copies (cp.async), the next chunk's while this one is weighed,
// and the next chunk's mask is read into registers in the same shadow. Against the version before (keys, then
// values, through registers) that took 3-17% off the kernel on an H100 (2026-12-08, docs/benchmarks.md), less than
// the loads' latency had promised; the bounds took 7% more at 16 sequences of 40 nodes, 29% at 64, where a third of
// the rows are padding. At 16 × 40 it still takes some 57 µs a layer, about 5 µs a chunk of keys, its bound unknown
// (aded-examples/gpu/kernel-variants.sh times variants that each leave one part of a chunk's work out).
//
// On by default where the helper has it (-Daded.treeAttention=false leaves attention to the operators).
#include "aded_tree_attention.h"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <math_constants.h>
#include <mma.h>

#include <type_traits>

namespace {

using namespace nvcuda;

constexpr int ROWS = 16;  // query rows a block: one WMMA tile's height
constexpr int THREADS = 128;
constexpr int WARPS = THREADS / 32;
constexpr unsigned FULL = 0xffffffffu;

__device__ __forceinline__ float value(float x) { return x; }
__device__ __forceinline__ float value(__half x) { return __half2float(x); }
template <typename T>
__device__ __forceinline__ T to(float x);
template <>
__device__ __forceinline__ float to<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half to<__half>(float x) { return __float2half(x); }

// Shared memory rows are padded by 16 bytes: rows of 128 or 256 bytes would put a WMMA tile's 16 rows in the same
// banks. Keys and values have two stages each: the chunk being weighed and the next one arriving.
template <typename T, int D>
struct Tile {
  // Keys a chunk: rows of 8 KB (64 code-15m keys in f16), at least 32 (a lane per column in the softmax). Small
  // chunks split the keys of few sequences among more blocks; the copies of the next hide each chunk's latency.
  static constexpr int FIT = 8192 / (D * static_cast<int>(sizeof(T)));
  static constexpr int CHUNK = FIT > 32 ? FIT : 32;
  static constexpr int PAD = 16 / sizeof(T);
  static constexpr int PARTS = THREADS / D;  // threads sharing a head dimension in the running sums
  static constexpr int OWN = ROWS / PARTS;   // rows each of them keeps
  static constexpr int MASKED = ROWS / WARPS;  // rows of the mask a warp holds, a row's columns across its lanes
  alignas(32) T q[ROWS][D + PAD];
  alignas(32) T k[2][CHUNK][D + PAD];
  alignas(32) T v[2][CHUNK][D + PAD];
  alignas(32) float s[ROWS][CHUNK + 4];
  alignas(32) T p[ROWS][CHUNK + PAD];
  alignas(32) float o[ROWS][D + 4];  // the chunk's weighted values
  float top[ROWS];    // each row's running maximum
  float total[ROWS];  // and its running sum of weights
  float scale[ROWS];  // what this chunk's maximum makes of the sums so far
};

// out[16 × N] = a[16 × K]·b on tensor cores (WMMA), by the threads [thread - thread % 32, ...) of a group of
// `threads` (whole warps: a block's, or one warp), a warp per 16 columns; b as Layout says: element (k, n) at
// b[n·ldb + k] column-major, b[k·ldb + n] row-major.
template <typename Layout, int N, int K>
__device__ __forceinline__ void product(const __half* a, int lda, const __half* b, int ldb, float* out, int ldo,
                                        int thread, int threads) {
  constexpr bool by_column = std::is_same<Layout, wmma::col_major>::value;
  for (int n0 = (thread / 32) * 16; n0 < N; n0 += (threads / 32) * 16) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
    wmma::fill_fragment(c, 0.f);
#pragma unroll
    for (int k0 = 0; k0 < K; k0 += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> x;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, Layout> y;
      wmma::load_matrix_sync(x, a + k0, lda);
      wmma::load_matrix_sync(y, b + (by_column ? n0 * ldb + k0 : k0 * ldb + n0), ldb);
      wmma::mma_sync(c, x, y, c);
    }
    wmma::store_matrix_sync(out + n0, c, ldo, wmma::mem_row_major);
  }
}

// The same in f32 on CUDA cores (f32 is for exact checks, not speed), a thread per element of out at a time.
template <typename Layout, int N, int K>
__device__ __forceinline__ void product(const float* a, int lda, const float* b, int ldb, float* out, int ldo,
                                        int thread, int threads) {
  constexpr bool by_column = std::is_same<Layout, wmma::col_major>::value;
  for (int i = thread; i < ROWS * N; i += threads) {
    const int r = i / N;
    const int n = i % N;
    float sum = 0.f;
    for (int k = 0; k < K; k++) {
      sum = fmaf(a[r * lda + k], b[by_column ? n * ldb + k : k * ldb + n], sum);
    }
    out[r * ldo + n] = sum;
  }
}

// One row's softmax bookkeeping for a chunk, by a warp: x holds each lane's masked scores (-inf where closed) of
// the columns lane, lane + 32, ...; writes their weights to p (the first `cols`), and updates the row's running
// maximum and sum and what this chunk's maximum makes of the sums so far (lane 0 writes them).
template <typename T, int V>
__device__ __forceinline__ void weigh(const float (&x)[V], T* p, int cols, float& top, float& total, float& scale) {
  const int lane = threadIdx.x % 32;
  float high = -CUDART_INF_F;
#pragma unroll
  for (int i = 0; i < V; i++) {
    high = fmaxf(high, x[i]);
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    high = fmaxf(high, __shfl_xor_sync(FULL, high, off));
  }
  const float before = top;
  const float now = fmaxf(before, high);
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < V; i++) {
    const float e = now == -CUDART_INF_F ? 0.f : expf(x[i] - now);
    if (lane + 32 * i < cols) {
      p[lane + 32 * i] = to<T>(e);
    }
    sum += e;
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    sum += __shfl_xor_sync(FULL, sum, off);
  }
  if (lane == 0) {
    const float rescale = now == -CUDART_INF_F ? 1.f : expf(before - now);
    scale = rescale;
    total = total * rescale + sum;
    top = now;
  }
}

// What a block reads of its sequence a and kv head h: the keys and values (in place, through the slot table, or
// gathered) and the sequence's mask (null: every key open).
template <typename T>
struct Sequence {
  const T* keys;
  const T* values;
  const T* mask;
};

template <typename T>
__device__ __forceinline__ Sequence<T> sequence(const TreeAttentionArgs& p, int a, int h) {
  const long long slot = p.slots == nullptr ? a : p.slots[a];
  return {static_cast<const T*>(p.k) + h * p.k_head + slot * p.k_seq,
          static_cast<const T*>(p.v) + h * p.v_head + slot * p.v_seq,
          p.mask == nullptr ? nullptr : static_cast<const T*>(p.mask) + a * p.m_seq};
}

// Where the additive mask of the kv head's query row `row` starts (a token's row, shared by its group's query
// heads), or null for no mask.
template <typename T>
__device__ __forceinline__ const T* mask_row(const TreeAttentionArgs& p, const T* mask, int row) {
  return mask == nullptr ? nullptr : mask + (long long)(row / p.group) * p.m_row;
}

// Rows [first, first + N) of the kv head h's query rows of sequence a into shared memory, zeros past its g·t rows.
template <typename T, int D, int N, int LD>
__device__ __forceinline__ void load_queries(T (*dst)[LD], const TreeAttentionArgs& p, int a, int h, int first) {
  const T* q = static_cast<const T*>(p.q);
  for (int i = threadIdx.x; i < N * D; i += THREADS) {
    const int r = i / D;
    const int d = i % D;
    const int row = first + r;
    T x = to<T>(0.f);
    if (row < p.group * p.tokens) {
      x = q[(long long)(a * p.tokens + row / p.group) * p.q_row + (long long)(h * p.group + row % p.group) * p.q_head
            + d];
    }
    dst[r][d] = x;
  }
}

// A query row's result, dimension d: its output when the keys are not split, else its split's running maximum,
// sum of weights (written once, by d 0) and weighted sums, for combine.
template <typename T, int D>
__device__ __forceinline__ void emit(const TreeAttentionArgs& p, int a, int h, int row, int d, float acc, float top,
                                     float total) {
  const int heads = p.kv_heads * p.group;
  const long long all = (long long)p.sequences * p.tokens * heads;
  const long long at = (long long)(a * p.tokens + row / p.group) * heads + h * p.group + row % p.group;
  if (p.splits == 1) {
    static_cast<T*>(p.out)[at * D + d] = to<T>(total > 0.f ? acc / total : 0.f);
    return;
  }
  if (d == 0) {
    p.partial[blockIdx.y * all + at] = top;
    p.partial[(p.splits + blockIdx.y) * all + at] = total;
  }
  p.partial[2 * p.splits * all + blockIdx.y * all * D + at * D + d] = acc;
}

// Starts copying the chunk at k0 (n keys, the rest zeros) of the keys and the values into stage `stage`, 16 bytes a
// copy, all in flight at once; the block waits for them with __pipeline_wait_prior.
template <typename T, int D>
__device__ __forceinline__ void fetch(Tile<T, D>& t, int stage, const Sequence<T>& seq, const TreeAttentionArgs& p,
                                      int k0, int n) {
  constexpr int VEC = 16 / sizeof(T);
  constexpr int PIECES = D / VEC;  // of a row
  for (int i = threadIdx.x; i < Tile<T, D>::CHUNK * PIECES; i += THREADS) {
    const int row = i / PIECES;
    const int col = (i % PIECES) * VEC;
    const bool in = row < n;
    const long long key = k0 + (in ? row : 0);  // a row past the keys copies nothing and zero-fills
    __pipeline_memcpy_async(&t.k[stage][row][col], seq.keys + key * p.k_key + col, 16, in ? 0 : 16);
    __pipeline_memcpy_async(&t.v[stage][row][col], seq.values + key * p.v_key + col, 16, in ? 0 : 16);
  }
  __pipeline_commit();
}

// The mask of this warp's rows for the chunk at k0 (n keys) into x (-inf where closed, past the keys or the rows),
// every load issued before the first is used; `row` holds where each of the warp's rows' mask starts (any row's for
// a row past `rows`), and keys below `past` are open for each of the first `rows` rows, read from nowhere. Returns
// whether any of them opens a key.
template <typename T, int D>
__device__ __forceinline__ bool read_mask(float (&x)[Tile<T, D>::MASKED][Tile<T, D>::CHUNK / 32],
                                          const T* const (&row)[Tile<T, D>::MASKED], long long m_key, int rows,
                                          int past, int k0, int n) {
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  bool open = false;
#pragma unroll
  for (int w = 0; w < Tile<T, D>::MASKED; w++) {
    const int r = warp + w * WARPS;
#pragma unroll
    for (int i = 0; i < Tile<T, D>::CHUNK / 32; i++) {
      const int j = lane + 32 * i;
      const bool in = r < rows && j < n;
      float y = in ? 0.f : -CUDART_INF_F;
      if (row[w] != nullptr && k0 + j >= past) {  // an in-range address, whether the key is in or not
        const float m = value(row[w][(long long)(in ? k0 + j : 0) * m_key]);
        y = in ? m : y;
      }
      x[w][i] = y;
      open |= y != -CUDART_INF_F;
    }
  }
  return open;
}

// s = q·kᵀ for the chunk: the keys' rows are kᵀ's columns.
template <typename T, int D>
__device__ __forceinline__ void scores(Tile<T, D>& t, int stage) {
  using Work = Tile<T, D>;
  product<wmma::col_major, Work::CHUNK, D>(&t.q[0][0], D + Work::PAD, &t.k[stage][0][0], D + Work::PAD, &t.s[0][0],
                                          Work::CHUNK + 4, threadIdx.x, THREADS);
}

// o = p·v for the chunk: the values' rows are v's.
template <typename T, int D>
__device__ __forceinline__ void weighted(Tile<T, D>& t, int stage) {
  using Work = Tile<T, D>;
  product<wmma::row_major, D, Work::CHUNK>(&t.p[0][0], Work::CHUNK + Work::PAD, &t.v[stage][0][0], D + Work::PAD,
                                          &t.o[0][0], D + 4, threadIdx.x, THREADS);
}

template <typename T, int D>
__global__ void __launch_bounds__(THREADS) tree_attention(TreeAttentionArgs p) {
  using Work = Tile<T, D>;
  constexpr int CHUNK = Work::CHUNK;
  constexpr int COLS = CHUNK / 32;
  extern __shared__ __align__(32) unsigned char raw[];
  Work& t = *reinterpret_cast<Work*>(raw);
  const int a = blockIdx.z / p.kv_heads;
  const int h = blockIdx.z % p.kv_heads;
  const int first = blockIdx.x * ROWS;  // among the kv head's g·t rows, ordered (token, query head of the group)
  const int rows = min(ROWS, p.group * p.tokens - first);
  // With bounds, the rows of real tokens and the keys that may be open; the others are weighed as masked (their
  // outputs zeros). Without, every row and key, each chunk skipped only once its mask is read and found closed.
  const bool bounded = p.bounds != nullptr;
  const int keys = bounded ? static_cast<int>(min((long long)p.keys, p.bounds[a])) : p.keys;
  const int live = bounded ? max(0, min(rows, p.group * static_cast<int>(p.bounds[p.sequences + a]) - first)) : rows;
  const int past = bounded ? static_cast<int>(p.bounds[2 * p.sequences + a]) : 0;
  const int chunks = (keys + CHUNK - 1) / CHUNK;
  const int c_begin = blockIdx.y * p.per_split;
  const int c_end = live > 0 ? min(chunks, c_begin + p.per_split) : c_begin;

  load_queries<T, D, ROWS>(t.q, p, a, h, first);
  if (threadIdx.x < ROWS) {
    t.top[threadIdx.x] = -CUDART_INF_F;
    t.total[threadIdx.x] = 0.f;
  }
  const Sequence<T> seq = sequence<T>(p, a, h);
  const int warp = threadIdx.x / 32;
  const T* masks[Work::MASKED];  // where each of this warp's rows' mask starts: once, not a division a key
#pragma unroll
  for (int w = 0; w < Work::MASKED; w++) {
    const int r = warp + w * WARPS;
    masks[w] = mask_row(p, seq.mask, first + (r < live ? r : 0));
  }
  const int lane = threadIdx.x % 32;
  const int d = threadIdx.x % D;
  const int part = threadIdx.x / D;
  float acc[Work::OWN];
#pragma unroll
  for (int o = 0; o < Work::OWN; o++) {
    acc[o] = 0.f;
  }

  // x: this chunk's mask, y: the next one's. Without bounds, whether a chunk opens anything is known only once its
  // mask has arrived, a load on each chunk's path; the barriers of __syncthreads_or also order the previous chunk's
  // reads of a stage before the copies that overwrite it (with bounds, the last barrier of the chunk before does).
  float x[Work::MASKED][COLS];
  float y[Work::MASKED][COLS];
  bool open = false;
  if (c_begin < c_end) {
    const int k0 = c_begin * CHUNK;
    const bool any = read_mask<T, D>(x, masks, p.m_key, live, past, k0, min(CHUNK, keys - k0));
    open = bounded || __syncthreads_or(any);
    if (open) {
      fetch<T, D>(t, 0, seq, p, k0, min(CHUNK, keys - k0));
    }
  }
  int stage = 0;
  for (int c = c_begin; c < c_end; c++) {
    bool next = false;
    if (c + 1 < c_end) {
      const int k1 = (c + 1) * CHUNK;
      const bool any = read_mask<T, D>(y, masks, p.m_key, live, past, k1, min(CHUNK, keys - k1));
      next = bounded || __syncthreads_or(any);
      if (next) {
        fetch<T, D>(t, stage ^ 1, seq, p, k1, min(CHUNK, keys - k1));
      }
    }
    if (open) {
      if (next) {
        __pipeline_wait_prior(1);
      } else {
        __pipeline_wait_prior(0);
      }
      __syncthreads();
      scores<T, D>(t, stage);
      __syncthreads();
      // The softmax's bookkeeping, a warp per row: running maximum and sum, the chunk's weights.
#pragma unroll
      for (int w = 0; w < Work::MASKED; w++) {
        const int r = warp + w * WARPS;
#pragma unroll
        for (int i = 0; i < COLS; i++) {
          x[w][i] += t.s[r][lane + 32 * i];
        }
        weigh<T>(x[w], &t.p[r][0], CHUNK, t.top[r], t.total[r], t.scale[r]);
      }
      __syncthreads();
      weighted<T, D>(t, stage);
      __syncthreads();
#pragma unroll
      for (int o = 0; o < Work::OWN; o++) {
        const int r = part + o * Work::PARTS;
        acc[o] = acc[o] * t.scale[r] + t.o[r][d];
      }
    }
#pragma unroll
    for (int w = 0; w < Work::MASKED; w++) {
#pragma unroll
      for (int i = 0; i < COLS; i++) {
        x[w][i] = y[w][i];
      }
    }
    open = next;
    stage ^= 1;
  }

  __syncthreads();  // a block that weighed no chunk has passed no barrier since the running sums were set
#pragma unroll
  for (int o = 0; o < Work::OWN; o++) {
    const int r = part + o * Work::PARTS;
    if (r < rows) {
      emit<T, D>(p, a, h, first + r, d, acc[o], t.top[r], t.total[r]);
    }
  }
}

// The splits' partial sums of each row into its output: each split's sums rescaled to the highest maximum.
template <typename T, int D>
__global__ void __launch_bounds__(D) combine(TreeAttentionArgs p) {
  const long long all = (long long)p.sequences * p.tokens * p.kv_heads * p.group;
  const long long row = blockIdx.x;
  const int d = threadIdx.x;
  const float* tops = p.partial;
  const float* totals = p.partial + p.splits * all;
  const float* sums = p.partial + 2 * p.splits * all;
  float high = -CUDART_INF_F;
  for (int s = 0; s < p.splits; s++) {
    high = fmaxf(high, tops[s * all + row]);
  }
  float total = 0.f;
  float acc = 0.f;
  if (high != -CUDART_INF_F) {
    for (int s = 0; s < p.splits; s++) {
      const float w = expf(tops[s * all + row] - high);
      total += w * totals[s * all + row];
      acc += w * sums[(s * all + row) * D + d];
    }
  }
  static_cast<T*>(p.out)[row * D + d] = to<T>(total > 0.f ? acc / total : 0.f);
}

// Blocks of the kernel that one multiprocessor holds at once (its shared memory bounds them), asked once per type.
template <typename T, int D>
int resident() {
  static const int blocks = aded_tree_attention_resident(reinterpret_cast<const void*>(tree_attention<T, D>),
                                                         THREADS, (int)sizeof(Tile<T, D>));
  return blocks;
}

template <typename T, int D>
cudaError_t launch(const TreeAttentionArgs& p, cudaStream_t stream) {
  resident<T, D>();
  const dim3 grid((p.group * p.tokens + ROWS - 1) / ROWS, p.splits, p.sequences * p.kv_heads);
  tree_attention<T, D><<<grid, THREADS, sizeof(Tile<T, D>), stream>>>(p);
  return p.splits > 1 ? aded_tree_attention_combine(p, stream) : cudaGetLastError();
}

template <typename T>
cudaError_t launch_type(const TreeAttentionArgs& p, cudaStream_t stream) {
  return p.head_dim == 64 ? launch<T, 64>(p, stream) : launch<T, 128>(p, stream);
}

template <typename T>
cudaError_t combine_type(const TreeAttentionArgs& p, cudaStream_t stream) {
  const unsigned rows = (unsigned)((long long)p.sequences * p.tokens * p.kv_heads * p.group);
  if (p.head_dim == 64) {
    combine<T, 64><<<rows, 64, 0, stream>>>(p);
  } else {
    combine<T, 128><<<rows, 128, 0, stream>>>(p);
  }
  return cudaGetLastError();
}

// The pass's blocks a row tile, and the blocks the GPU holds at once (one wave), for its type and head dimension.
template <typename T, int D>
void split(TreeAttentionArgs& p, int processors) {
  const long long tiles = (long long)((p.group * p.tokens + ROWS - 1) / ROWS) * p.kv_heads * p.sequences;
  aded_tree_attention_set_splits(p, tiles, (long long)processors * resident<T, D>(), Tile<T, D>::CHUNK);
}

}  // namespace

bool aded_tree_attention_supports(int head_dim) { return head_dim == 64 || head_dim == 128; }

int aded_tree_attention_resident(const void* kernel, int threads, int shared_bytes) {
  int n = 0;
  if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes) != cudaSuccess
      || cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, shared_bytes) != cudaSuccess) {
    return 1;
  }
  return n > 0 ? n : 1;
}

void aded_tree_attention_set_splits(TreeAttentionArgs& p, long long tiles, long long wave, int chunk) {
  const int chunks = (p.keys + chunk - 1) / chunk;
  // As many splits as one wave holds (a second wave would wait for the first), at least one, at most a chunk each.
  const long long wanted = wave / tiles > 1 ? wave / tiles : 1;
  const int splits = static_cast<int>(wanted < chunks ? wanted : chunks);
  p.per_split = (chunks + splits - 1) / splits;
  p.splits = (chunks + p.per_split - 1) / p.per_split;
}

void aded_tree_attention_split(TreeAttentionArgs& p) {
  static int processors = [] {
    int device = 0;
    int count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 132;
  }();
  if (p.half && p.warps) {
    aded_tree_attention_warps_split(p, processors);
  } else if (p.half) {
    p.head_dim == 64 ? split<__half, 64>(p, processors) : split<__half, 128>(p, processors);
  } else {
    p.head_dim == 64 ? split<float, 64>(p, processors) : split<float, 128>(p, processors);
  }
}

cudaError_t aded_tree_attention_launch(const TreeAttentionArgs& args, cudaStream_t stream) {
  if (args.half && args.warps) {
    return aded_tree_attention_warps_launch(args, stream);
  }
  return args.half ? launch_type<__half>(args, stream) : launch_type<float>(args, stream);
}

cudaError_t aded_tree_attention_combine(const TreeAttentionArgs& args, cudaStream_t stream) {
  return args.half ? combine_type<__half>(args, stream) : combine_type<float>(args, stream);
}
