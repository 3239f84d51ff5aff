// The tree-attention kernel's other layout, for f16 (opt-in: -Daded.treeAttention.warps=true), as flash attention 2
// lays its work out: each warp owns 16 query rows and keeps their scores, softmax and output in registers from one
// tensor-core instruction (mma.sync m16n8k16) to the next, so that a chunk of keys costs a warp its products and a
// few shuffles; the block's four warps (64 rows of one sequence and kv head) share each chunk of keys and values in
// shared memory, which costs one barrier a chunk.
//
// Why: the block layout (aded_tree_attention.cu) has four warps share one 16-row tile through shared memory, five
// barriers a chunk, the scores and weighted values stored and read back between them; at 16 sequences of 40 nodes
// it spent some 5 µs on a chunk of 64 keys, for 16 × 64 × 64 products twice (an H100, 2026-12-08, docs/benchmarks.md).
// Not yet run on a GPU when written: AttentionCheck and tree_attention_bench (warps) are its first checks.
//
// The register layouts are PTX's for mma.m16n8k16 (f16 inputs, f32 accumulators), with g = lane / 4, c = lane % 4:
// A (16 × 16, rows × k) holds (g, 2c..2c+1), (g + 8, 2c..), (g, 2c + 8..), (g + 8, 2c + 8..) in its four registers;
// B (16 × 8, k × n) holds (2c..2c+1, g) and (2c + 8.., g); C (16 × 8) holds (g, 2c), (g, 2c + 1), (g + 8, 2c),
// (g + 8, 2c + 1). A chunk's scores, 8 tiles of C of 8 keys, are therefore in the registers of the weights' A
// fragments for the product with the values, once rounded to f16.
#include "aded_tree_attention.h"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <math_constants.h>

#include <cstdint>

namespace {

constexpr int WARPS = 4;
constexpr int THREADS = 32 * WARPS;
constexpr int ROWS = 16;              // query rows a warp
constexpr int BLOCK_ROWS = ROWS * WARPS;
constexpr int CHUNK = 64;             // keys a chunk: 8 tiles of 8 for the scores, 4 steps of 16 for the values
constexpr int TILES = CHUNK / 8;
constexpr unsigned FULL = 0xffffffffu;

template <int D>
struct Chunks {
  static constexpr int LD = D + 8;  // 16 bytes of padding a row: the fragments' reads fall in distinct banks
  alignas(16) __half k[2][CHUNK][LD];
  alignas(16) __half v[2][CHUNK][LD];
};

__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The B fragment (16 keys × 8 dimensions) of the values' rows [16, 8] at `rows` (row stride LD), transposed on load.
template <int LD>
__device__ __forceinline__ void values_fragment(const __half* rows, uint32_t& b0, uint32_t& b1) {
  const int lane = threadIdx.x % 32;
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(rows + (lane % 16) * LD));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(b0), "=r"(b1) : "r"(at));
}

__device__ __forceinline__ uint32_t pack(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

// The chunk at k0 (n keys, the rest zeros) of the keys and the values into stage `stage`, 16 bytes a copy.
template <int D>
__device__ __forceinline__ void fetch(Chunks<D>& t, int stage, const __half* keys, const __half* values,
                                      long long k_key, long long v_key, int k0, int n) {
  constexpr int PIECES = D / 8;
  for (int i = threadIdx.x; i < CHUNK * PIECES; i += THREADS) {
    const int row = i / PIECES;
    const int col = (i % PIECES) * 8;
    const bool in = row < n;
    const long long key = k0 + (in ? row : 0);
    __pipeline_memcpy_async(&t.k[stage][row][col], keys + key * k_key + col, 16, in ? 0 : 16);
    __pipeline_memcpy_async(&t.v[stage][row][col], values + key * v_key + col, 16, in ? 0 : 16);
  }
  __pipeline_commit();
}

template <int D>
__global__ void __launch_bounds__(THREADS) tree_attention_warps(TreeAttentionArgs p) {
  extern __shared__ __align__(16) unsigned char raw[];
  Chunks<D>& t = *reinterpret_cast<Chunks<D>*>(raw);
  const int a = blockIdx.z / p.kv_heads;
  const int h = blockIdx.z % p.kv_heads;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int rows = p.group * p.tokens;  // the kv head's query rows, ordered (token, query head of the group)
  const int first = blockIdx.x * BLOCK_ROWS + warp * ROWS;
  const bool bounded = p.bounds != nullptr;
  const int keys = bounded ? static_cast<int>(min((long long)p.keys, p.bounds[a])) : p.keys;
  const int live_rows = bounded ? min(rows, p.group * static_cast<int>(p.bounds[p.sequences + a])) : rows;
  const int past = bounded ? static_cast<int>(p.bounds[2 * p.sequences + a]) : 0;
  const int block_live = live_rows - blockIdx.x * BLOCK_ROWS;  // the block's rows before the padding's
  const int chunks = (keys + CHUNK - 1) / CHUNK;
  const int c_begin = blockIdx.y * p.per_split;
  const int c_end = block_live > 0 ? min(chunks, c_begin + p.per_split) : c_begin;
  const long long slot = p.slots == nullptr ? a : p.slots[a];
  const __half* k_seq = static_cast<const __half*>(p.k) + h * p.k_head + slot * p.k_seq;
  const __half* v_seq = static_cast<const __half*>(p.v) + h * p.v_head + slot * p.v_seq;

  // This thread's two rows (g and g + 8 of the warp's 16): whether each is live, and where its mask row starts.
  int row[2];
  bool live[2];
  const __half* mask[2];
#pragma unroll
  for (int i = 0; i < 2; i++) {
    row[i] = first + g + 8 * i;
    live[i] = row[i] < live_rows;
    const int token = (live[i] ? row[i] : 0) / p.group;
    mask[i] = p.mask == nullptr ? nullptr
                                : static_cast<const __half*>(p.mask) + a * p.m_seq + (long long)token * p.m_row;
  }
  // The queries as A fragments, one a 16 dimensions; zeros for rows past the live ones.
  uint32_t q[D / 16][4];
#pragma unroll
  for (int s = 0; s < D / 16; s++) {
#pragma unroll
    for (int r = 0; r < 4; r++) {
      const int i = r % 2;  // registers 0 and 2: row g; 1 and 3: row g + 8
      const int d = s * 16 + 2 * c + (r / 2) * 8;
      uint32_t x = 0;
      if (live[i]) {
        const int token = row[i] / p.group;
        const int head = h * p.group + row[i] % p.group;
        x = *reinterpret_cast<const uint32_t*>(static_cast<const __half*>(p.q) + (long long)(a * p.tokens + token)
                                                * p.q_row + (long long)head * p.q_head + d);
      }
      q[s][r] = x;
    }
  }

  float o[D / 8][4];  // the weighted values so far: 16 rows × D, as C tiles of 8 dimensions
#pragma unroll
  for (int n = 0; n < D / 8; n++) {
#pragma unroll
    for (int e = 0; e < 4; e++) {
      o[n][e] = 0.f;
    }
  }
  float top[2] = {-CUDART_INF_F, -CUDART_INF_F};  // each row's running maximum
  float total[2] = {0.f, 0.f};  // and this thread's part of its running sum (its quad's four add up at the end)

  if (c_begin < c_end) {
    fetch<D>(t, 0, k_seq, v_seq, p.k_key, p.v_key, c_begin * CHUNK, min(CHUNK, keys - c_begin * CHUNK));
  }
  int stage = 0;
  for (int ch = c_begin; ch < c_end; ch++) {
    const int k0 = ch * CHUNK;
    __pipeline_wait_prior(0);
    __syncthreads();  // this chunk has landed for all, and all are done with the stage the next one overwrites
    if (ch + 1 < c_end) {
      fetch<D>(t, stage ^ 1, k_seq, v_seq, p.k_key, p.v_key, k0 + CHUNK, min(CHUNK, keys - k0 - CHUNK));
    }
    if (first >= live_rows) {  // a warp of padding rows only keeps to the block's barriers
      stage ^= 1;
      continue;
    }
    // Scores: 8 tiles of 8 keys.
    float s[TILES][4];
#pragma unroll
    for (int j = 0; j < TILES; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        s[j][e] = 0.f;
      }
#pragma unroll
      for (int d = 0; d < D / 16; d++) {
        const __half* key = &t.k[stage][j * 8 + g][d * 16 + 2 * c];
        mma(s[j], q[d], *reinterpret_cast<const uint32_t*>(key), *reinterpret_cast<const uint32_t*>(key + 8));
      }
    }
    // The mask, the chunk's maxima and the weights, per row: the four threads of a quad hold a row's 64 columns.
    float high[2] = {-CUDART_INF_F, -CUDART_INF_F};
#pragma unroll
    for (int j = 0; j < TILES; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int i = e / 2;
        const int key = k0 + j * 8 + 2 * c + e % 2;
        float m = live[i] && key < keys ? 0.f : -CUDART_INF_F;
        if (mask[i] != nullptr && key >= past && m == 0.f) {
          m = __half2float(mask[i][(long long)key * p.m_key]);
        }
        s[j][e] += m;
        high[i] = fmaxf(high[i], s[j][e]);
      }
    }
    float scale[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
      high[i] = fmaxf(high[i], __shfl_xor_sync(FULL, high[i], 1));
      high[i] = fmaxf(high[i], __shfl_xor_sync(FULL, high[i], 2));
      const float now = fmaxf(top[i], high[i]);
      scale[i] = now == -CUDART_INF_F ? 1.f : expf(top[i] - now);
      top[i] = now;
      total[i] *= scale[i];
    }
    uint32_t w[CHUNK / 16][4];  // the weights as A fragments, a step of 16 keys each
#pragma unroll
    for (int j = 0; j < TILES; j++) {
      float x[4];
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int i = e / 2;
        // Rounded to f16 before they are summed, so that the sum weighs what the product with the values does.
        x[e] = top[i] == -CUDART_INF_F ? 0.f : __half2float(__float2half(expf(s[j][e] - top[i])));
        total[i] += x[e];
      }
      w[j / 2][(j % 2) * 2] = pack(x[0], x[1]);
      w[j / 2][(j % 2) * 2 + 1] = pack(x[2], x[3]);
    }
    // The weighted values: D / 8 tiles of 8 dimensions, 4 steps of 16 keys.
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
      o[n][0] *= scale[0];
      o[n][1] *= scale[0];
      o[n][2] *= scale[1];
      o[n][3] *= scale[1];
#pragma unroll
      for (int k = 0; k < CHUNK / 16; k++) {
        uint32_t b0, b1;
        values_fragment<Chunks<D>::LD>(&t.v[stage][k * 16][n * 8], b0, b1);
        mma(o[n], w[k], b0, b1);
      }
    }
    stage ^= 1;
  }

  // A row's sum is its quad's four parts.
#pragma unroll
  for (int i = 0; i < 2; i++) {
    total[i] += __shfl_xor_sync(FULL, total[i], 1);
    total[i] += __shfl_xor_sync(FULL, total[i], 2);
  }
  const int heads = p.kv_heads * p.group;
  const long long all = (long long)p.sequences * p.tokens * heads;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (row[i] >= rows) {
      continue;
    }
    const long long at = (long long)(a * p.tokens + row[i] / p.group) * heads + h * p.group + row[i] % p.group;
    if (p.splits == 1) {
      __half* out = static_cast<__half*>(p.out) + at * D;
      const float inverse = total[i] > 0.f ? 1.f / total[i] : 0.f;
#pragma unroll
      for (int n = 0; n < D / 8; n++) {
        *reinterpret_cast<__half2*>(out + n * 8 + 2 * c) =
            __floats2half2_rn(o[n][2 * i] * inverse, o[n][2 * i + 1] * inverse);
      }
    } else {
      if (c == 0) {
        p.partial[blockIdx.y * all + at] = top[i];
        p.partial[(p.splits + blockIdx.y) * all + at] = total[i];
      }
      float* sums = p.partial + 2 * p.splits * all + blockIdx.y * all * D + at * D;
#pragma unroll
      for (int n = 0; n < D / 8; n++) {
        sums[n * 8 + 2 * c] = o[n][2 * i];
        sums[n * 8 + 2 * c + 1] = o[n][2 * i + 1];
      }
    }
  }
}

// Blocks one multiprocessor holds at once, asked once per head dimension.
template <int D>
int resident() {
  static const int blocks = aded_tree_attention_resident(reinterpret_cast<const void*>(tree_attention_warps<D>),
                                                         THREADS, (int)sizeof(Chunks<D>));
  return blocks;
}

template <int D>
void split(TreeAttentionArgs& p, int processors) {
  const long long blocks = (long long)((p.group * p.tokens + BLOCK_ROWS - 1) / BLOCK_ROWS) * p.kv_heads * p.sequences;
  aded_tree_attention_set_splits(p, blocks, (long long)processors * resident<D>(), CHUNK);
}

template <int D>
cudaError_t launch(const TreeAttentionArgs& p, cudaStream_t stream) {
  resident<D>();
  const dim3 grid((p.group * p.tokens + BLOCK_ROWS - 1) / BLOCK_ROWS, p.splits, p.sequences * p.kv_heads);
  tree_attention_warps<D><<<grid, THREADS, sizeof(Chunks<D>), stream>>>(p);
  return p.splits > 1 ? aded_tree_attention_combine(p, stream) : cudaGetLastError();
}

}  // namespace

void aded_tree_attention_warps_split(TreeAttentionArgs& p, int processors) {
  p.head_dim == 64 ? split<64>(p, processors) : split<128>(p, processors);
}

cudaError_t aded_tree_attention_warps_launch(const TreeAttentionArgs& p, cudaStream_t stream) {
  return p.head_dim == 64 ? launch<64>(p, stream) : launch<128>(p, stream);
}
