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
// for some tokens, so they share its keys. Keys go through shared memory a chunk at a time (16 KB), scores and
// weighted values on tensor cores in f16 (WMMA; CUDA cores in f32, which is for exact checks), the softmax as flash
// attention keeps it: a running maximum and sum per row, earlier sums rescaled when the maximum grows. A pass of few
// sequences splits its keys among blocks (flash-decoding), whose partial sums a second kernel combines. A chunk whose
// keys are all masked for the block's rows (past a sequence's length in a bucket of keys) is skipped unread.
//
// On by default where the helper has it (-Daded.treeAttention=false leaves attention to the operators): on an H100,
// 16 code-15m streams gave 27% more tokens a second than with the operators, one and 64 streams the same
// (docs/benchmarks.md). Passes of 64 sequences of 16 to 40 nodes cost more with it than with libtorch's fused
// kernel: each block of 16 rows reads all of its sequence's keys, so 40 nodes' 120 rows read them 8 times.
#include "aded_tree_attention.h"

#include <cuda_fp16.h>
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
// banks.
template <typename T, int D>
struct Tile {
  static constexpr int CHUNK = 16384 / (D * static_cast<int>(sizeof(T)));  // keys whose rows fill 16 KB
  static constexpr int PAD = 16 / sizeof(T);
  static constexpr int PARTS = THREADS / D;  // threads sharing a head dimension in the running sums
  static constexpr int OWN = ROWS / PARTS;   // rows each of them keeps
  alignas(32) T q[ROWS][D + PAD];
  alignas(32) T kv[CHUNK][D + PAD];  // the chunk's keys, then its values
  alignas(32) float s[ROWS][CHUNK + 4];
  alignas(32) T p[ROWS][CHUNK + PAD];
  alignas(32) float o[ROWS][D + 4];  // the chunk's weighted values
  float top[ROWS];    // each row's running maximum
  float total[ROWS];  // and its running sum of weights
  float scale[ROWS];  // what this chunk's maximum makes of the sums so far
};

// Rows [0, n) of a chunk of keys or values into shared memory, 16 bytes a load; rows past n are zeros.
template <typename T, int D, int LD>
__device__ __forceinline__ void load_rows(T (*dst)[LD], const T* src, long long stride, int n, int chunk) {
  constexpr int VEC = 16 / sizeof(T);
  for (int i = threadIdx.x; i < chunk * D / VEC; i += THREADS) {
    const int row = i / (D / VEC);
    const int col = (i % (D / VEC)) * VEC;
    uint4 x = make_uint4(0, 0, 0, 0);
    if (row < n) {
      x = __ldg(reinterpret_cast<const uint4*>(src + row * stride + col));
    }
    *reinterpret_cast<uint4*>(&dst[row][col]) = x;
  }
}

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

// The additive mask of the kv head's query row `row` (a token's, shared by its group's query heads) and key `key`.
template <typename T>
__device__ __forceinline__ float mask_at(const TreeAttentionArgs& p, const T* mask, int row, int key) {
  return mask == nullptr ? 0.f : value(mask[(long long)(row / p.group) * p.m_row + (long long)key * p.m_key]);
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

// s = q·kᵀ for the chunk: the keys' rows are kᵀ's columns.
template <typename T, int D>
__device__ __forceinline__ void scores(Tile<T, D>& t) {
  using Work = Tile<T, D>;
  product<wmma::col_major, Work::CHUNK, D>(&t.q[0][0], D + Work::PAD, &t.kv[0][0], D + Work::PAD, &t.s[0][0],
                                          Work::CHUNK + 4, threadIdx.x, THREADS);
}

// o = p·v for the chunk: the values' rows are v's.
template <typename T, int D>
__device__ __forceinline__ void weighted(Tile<T, D>& t) {
  using Work = Tile<T, D>;
  product<wmma::row_major, D, Work::CHUNK>(&t.p[0][0], Work::CHUNK + Work::PAD, &t.kv[0][0], D + Work::PAD,
                                          &t.o[0][0], D + 4, threadIdx.x, THREADS);
}

template <typename T, int D>
__global__ void __launch_bounds__(THREADS) tree_attention(TreeAttentionArgs p) {
  using Work = Tile<T, D>;
  constexpr int CHUNK = Work::CHUNK;
  __shared__ Work t;
  const int a = blockIdx.z / p.kv_heads;
  const int h = blockIdx.z % p.kv_heads;
  const int first = blockIdx.x * ROWS;  // among the kv head's g·t rows, ordered (token, query head of the group)
  const int rows = min(ROWS, p.group * p.tokens - first);
  const int chunks = (p.keys + CHUNK - 1) / CHUNK;
  const int c_end = min(chunks, (blockIdx.y + 1) * p.per_split);

  load_queries<T, D, ROWS>(t.q, p, a, h, first);
  if (threadIdx.x < ROWS) {
    t.top[threadIdx.x] = -CUDART_INF_F;
    t.total[threadIdx.x] = 0.f;
  }
  const Sequence<T> seq = sequence<T>(p, a, h);
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int d = threadIdx.x % D;
  const int part = threadIdx.x / D;
  float acc[Work::OWN];
#pragma unroll
  for (int o = 0; o < Work::OWN; o++) {
    acc[o] = 0.f;
  }

  __syncthreads();
  for (int c = blockIdx.y * p.per_split; c < c_end; c++) {
    const int k0 = c * CHUNK;
    const int n = min(CHUNK, p.keys - k0);
    // The mask first: a chunk that opens no key to the block's rows (past a sequence's length in a bucket of keys
    // rounded up to a power of two, or rows of padding) is skipped before its keys are read. Each warp keeps its
    // rows' mask in registers for the softmax below.
    float x[ROWS / WARPS][CHUNK / 32];
    bool open = false;
#pragma unroll
    for (int w = 0; w < ROWS / WARPS; w++) {
      const int r = warp + w * WARPS;
#pragma unroll
      for (int i = 0; i < CHUNK / 32; i++) {
        const int j = lane + 32 * i;
        float y = -CUDART_INF_F;
        if (r < rows && j < n) {
          y = mask_at(p, seq.mask, first + r, k0 + j);
        }
        x[w][i] = y;
        open |= y != -CUDART_INF_F;
      }
    }
    if (!__syncthreads_or(open)) {
      continue;
    }
    load_rows<T, D, D + Work::PAD>(t.kv, seq.keys + (long long)k0 * p.k_key, p.k_key, n, CHUNK);
    __syncthreads();
    scores<T, D>(t);
    __syncthreads();
    load_rows<T, D, D + Work::PAD>(t.kv, seq.values + (long long)k0 * p.v_key, p.v_key, n, CHUNK);
    // The softmax's bookkeeping, a warp per row: running maximum and sum, the chunk's weights.
#pragma unroll
    for (int w = 0; w < ROWS / WARPS; w++) {
      const int r = warp + w * WARPS;
#pragma unroll
      for (int i = 0; i < CHUNK / 32; i++) {
        x[w][i] += t.s[r][lane + 32 * i];
      }
      weigh<T>(x[w], &t.p[r][0], CHUNK, t.top[r], t.total[r], t.scale[r]);
    }
    __syncthreads();
    weighted<T, D>(t);
    __syncthreads();
#pragma unroll
    for (int o = 0; o < Work::OWN; o++) {
      const int r = part + o * Work::PARTS;
      acc[o] = acc[o] * t.scale[r] + t.o[r][d];
    }
    __syncthreads();  // the next chunk overwrites kv, s, p and o
  }

#pragma unroll
  for (int o = 0; o < Work::OWN; o++) {
    const int r = part + o * Work::PARTS;
    if (r < rows) {
      emit<T, D>(p, a, h, first + r, d, acc[o], t.top[r], t.total[r]);
    }
  }
}

// The wide kernel, for passes whose kv heads have more than 16 query rows a sequence (trees of 6 nodes and more
// with code-15m's 3 query heads to a kv head): a block of 64 rows, a warp per 16 (its own WMMA tile), the four
// warps sharing each chunk of keys and values, loaded together. The narrow kernel above gives all four warps one
// tile, so a tree of 40 nodes (120 rows a kv head) ran 8 blocks that each read all of the sequence's keys, and on
// an H100 64 such sequences passed in 3.14 ms against 2.53 with libtorch's fused kernel.
//
// Opt-in (-Daded.treeAttentionWide=true, TreeAttentionArgs.wide): it passes AttentionCheck in f16 and f32 on an H100,
// and is not yet timed; BatchBench and bench-concurrency are its measures (docs/benchmarks.md).
template <typename T, int D>
struct Wide {
  static constexpr int CHUNK = 8192 / (D * static_cast<int>(sizeof(T)));  // keys whose rows fill 8 KB
  static constexpr int PAD = 16 / sizeof(T);
  static constexpr int COLS = D / 32;  // head dimensions a lane keeps of each row
  struct Warp {
    alignas(32) float s[ROWS][CHUNK + 4];
    alignas(32) T p[ROWS][CHUNK + PAD];
    alignas(32) float o[ROWS][D + 4];
    float top[ROWS];
    float total[ROWS];
    float scale[ROWS];
  };
  alignas(32) T q[WARPS * ROWS][D + PAD];
  alignas(32) T k[CHUNK][D + PAD];
  alignas(32) T v[CHUNK][D + PAD];
  Warp w[WARPS];
};

template <typename T, int D>
__global__ void __launch_bounds__(THREADS) tree_attention_wide(TreeAttentionArgs p) {
  using Work = Wide<T, D>;
  constexpr int CHUNK = Work::CHUNK;
  extern __shared__ __align__(32) unsigned char raw[];
  Work& t = *reinterpret_cast<Work*>(raw);
  const int a = blockIdx.z / p.kv_heads;
  const int h = blockIdx.z % p.kv_heads;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int block_first = blockIdx.x * WARPS * ROWS;  // among the kv head's g·t rows
  const int first = block_first + warp * ROWS;          // this warp's
  const int rows = max(0, min(ROWS, p.group * p.tokens - first));
  const int chunks = (p.keys + CHUNK - 1) / CHUNK;
  const int c_end = min(chunks, (blockIdx.y + 1) * p.per_split);
  typename Work::Warp& mine = t.w[warp];

  load_queries<T, D, WARPS * ROWS>(t.q, p, a, h, block_first);
  if (lane < ROWS) {
    mine.top[lane] = -CUDART_INF_F;
    mine.total[lane] = 0.f;
  }
  const Sequence<T> seq = sequence<T>(p, a, h);
  float acc[ROWS][Work::COLS];
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
#pragma unroll
    for (int c = 0; c < Work::COLS; c++) {
      acc[r][c] = 0.f;
    }
  }
  // The mask of row r (< rows) and key j of the chunk at k0, -inf past the keys.
  auto masked = [&](int r, int k0, int j) {
    return k0 + j >= p.keys ? -CUDART_INF_F : mask_at(p, seq.mask, first + r, k0 + j);
  };

  __syncthreads();
  for (int c = blockIdx.y * p.per_split; c < c_end; c++) {
    const int k0 = c * CHUNK;
    const int n = min(CHUNK, p.keys - k0);
    // A chunk that opens no key to the block's rows is skipped unread, as in the narrow kernel.
    bool open = false;
    for (int r = 0; r < rows && !open; r++) {
      for (int j = lane; j < CHUNK; j += 32) {
        open |= masked(r, k0, j) != -CUDART_INF_F;
      }
    }
    if (!__syncthreads_or(open)) {
      continue;
    }
    load_rows<T, D, D + Work::PAD>(t.k, seq.keys + (long long)k0 * p.k_key, p.k_key, n, CHUNK);
    load_rows<T, D, D + Work::PAD>(t.v, seq.values + (long long)k0 * p.v_key, p.v_key, n, CHUNK);
    __syncthreads();
    if (rows > 0) {
      product<wmma::col_major, CHUNK, D>(&t.q[warp * ROWS][0], D + Work::PAD, &t.k[0][0], D + Work::PAD,
                                         &mine.s[0][0], CHUNK + 4, lane, 32);
      __syncwarp();
      for (int r = 0; r < ROWS; r++) {
        float x[(CHUNK + 31) / 32];
#pragma unroll
        for (int i = 0; i < (CHUNK + 31) / 32; i++) {
          const int j = lane + 32 * i;
          float y = -CUDART_INF_F;
          if (r < rows && j < CHUNK) {
            y = masked(r, k0, j);
            if (y != -CUDART_INF_F) {
              y += mine.s[r][j];
            }
          }
          x[i] = y;
        }
        weigh<T>(x, &mine.p[r][0], CHUNK, mine.top[r], mine.total[r], mine.scale[r]);
      }
      __syncwarp();
      product<wmma::row_major, D, CHUNK>(&mine.p[0][0], CHUNK + Work::PAD, &t.v[0][0], D + Work::PAD,
                                         &mine.o[0][0], D + 4, lane, 32);
      __syncwarp();
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        const float scale = mine.scale[r];
#pragma unroll
        for (int c = 0; c < Work::COLS; c++) {
          acc[r][c] = acc[r][c] * scale + mine.o[r][lane + 32 * c];
        }
      }
    }
    __syncthreads();  // the next chunk overwrites k and v
  }

  __syncwarp();
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    if (r < rows) {
#pragma unroll
      for (int c = 0; c < Work::COLS; c++) {
        emit<T, D>(p, a, h, first + r, lane + 32 * c, acc[r][c], mine.top[r], mine.total[r]);
      }
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

// Whether a pass takes the wide kernel: when asked for, and more than one narrow tile of rows a kv head.
bool wide(const TreeAttentionArgs& p) { return p.wide && p.group * p.tokens > ROWS; }

// Rows a block of the pass's kernel takes.
int block_rows(const TreeAttentionArgs& p) { return wide(p) ? WARPS * ROWS : ROWS; }

template <typename T, int D>
int chunks(const TreeAttentionArgs& p) {
  const int chunk = wide(p) ? Wide<T, D>::CHUNK : Tile<T, D>::CHUNK;
  return (p.keys + chunk - 1) / chunk;
}

template <typename T>
int chunks_of(const TreeAttentionArgs& p) {
  return p.head_dim == 64 ? chunks<T, 64>(p) : chunks<T, 128>(p);
}

template <typename T, int D>
cudaError_t launch(const TreeAttentionArgs& p, cudaStream_t stream) {
  const int tiles = (p.group * p.tokens + block_rows(p) - 1) / block_rows(p);
  const dim3 grid(tiles, p.splits, p.sequences * p.kv_heads);
  if (wide(p)) {
    // Over 48 KB of shared memory: the kernel has to ask for it, once.
    static const cudaError_t allowed = cudaFuncSetAttribute(
        tree_attention_wide<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sizeof(Wide<T, D>));
    if (allowed != cudaSuccess) {
      return allowed;
    }
    tree_attention_wide<T, D><<<grid, THREADS, sizeof(Wide<T, D>), stream>>>(p);
  } else {
    tree_attention<T, D><<<grid, THREADS, 0, stream>>>(p);
  }
  if (p.splits > 1) {
    combine<T, D><<<(unsigned)((long long)p.sequences * p.tokens * p.kv_heads * p.group), D, 0, stream>>>(p);
  }
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_type(const TreeAttentionArgs& p, cudaStream_t stream) {
  return p.head_dim == 64 ? launch<T, 64>(p, stream) : launch<T, 128>(p, stream);
}

}  // namespace

bool aded_tree_attention_supports(int head_dim) { return head_dim == 64 || head_dim == 128; }

// Splits while the blocks would not fill the GPU four times over: a block is short (a chunk or a few), and fewer
// blocks than that left most multiprocessors idle for one code-15m sequence. Every split gets at least one chunk.
void aded_tree_attention_split(TreeAttentionArgs& p) {
  static int processors = [] {
    int device = 0;
    int count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 132;
  }();
  const long long blocks =
      (long long)((p.group * p.tokens + block_rows(p) - 1) / block_rows(p)) * p.kv_heads * p.sequences;
  const int chunks = p.half ? chunks_of<__half>(p) : chunks_of<float>(p);
  const long long wanted = (4LL * processors + blocks - 1) / blocks;
  const int splits = static_cast<int>(wanted < chunks ? wanted : chunks);
  p.per_split = (chunks + splits - 1) / splits;
  p.splits = (chunks + p.per_split - 1) / p.per_split;
}

cudaError_t aded_tree_attention_launch(const TreeAttentionArgs& args, cudaStream_t stream) {
  return args.half ? launch_type<__half>(args, stream) : launch_type<float>(args, stream);
}
