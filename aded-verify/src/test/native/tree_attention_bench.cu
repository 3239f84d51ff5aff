// The tree-attention kernel alone, timed by CUDA events over passes' shapes: what a layer's attention costs with
// no Java, no libtorch and no graph around it, so that changes to the kernel can be measured (and variants of it
// compared) in seconds. Random f16 queries, keys and values; each sequence's past open, its tree a chain (each row
// opens its ancestors and itself), the rows past its real tokens open the first key only, as a batched pass lays them
// out (BatchedSteps); by slot, with bounds unless told otherwise.
//
//   aded-verify/src/test/native/build-bench.sh && /tmp/tree_attention_bench [nobounds] [warps]
//
// nobounds: the sequences' bounds left out; warps: the warp layout (aded_tree_attention_warps.cu).
// Prints a line a shape: sequences × (real tokens of a bucket of t), keys (open of a bucket), the splits and the
// median µs a launch (kernel and combine) over 200 launches.
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "aded_tree_attention.h"

#define CHECK(x)                                                                                 \
  do {                                                                                           \
    cudaError_t e = (x);                                                                         \
    if (e != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e));    \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

namespace {

struct Shape {
  int sequences, tokens, real, keys, past, kv_heads, group, dim;
};

template <typename T>
T* upload(const std::vector<T>& host) {
  T* device = nullptr;
  CHECK(cudaMalloc(&device, host.size() * sizeof(T)));
  CHECK(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return device;
}

std::vector<__half> random_halves(size_t n, float scale, std::mt19937& gen) {
  std::normal_distribution<float> normal(0.f, scale);
  std::vector<__half> out(n);
  for (auto& x : out) {
    x = __float2half(normal(gen));
  }
  return out;
}

float time_shape(const Shape& s, bool bounded, bool warps, int* splits) {
  std::mt19937 gen(7);
  const int heads = s.kv_heads * s.group;
  const int slot_rows = s.keys + 64;
  const int slots = s.sequences + 1;
  const long long q_row = (long long)(heads + 2 * s.kv_heads) * s.dim;  // a view of a q/k/v projection, as in a pass
  auto q = upload(random_halves((size_t)s.sequences * s.tokens * q_row, 0.125f, gen));
  auto cache = upload(random_halves((size_t)2 * s.kv_heads * slots * slot_rows * s.dim, 1.f, gen));
  // The mask as a batched pass builds it: [A, t, K + 1] cut to K columns.
  const long long stride = s.keys + 1;
  std::vector<__half> mask((size_t)s.sequences * s.tokens * stride, __float2half(-INFINITY));
  std::vector<long long> table(s.sequences), bounds(3 * s.sequences);
  for (int a = 0; a < s.sequences; a++) {
    table[a] = (a * 7) % slots;  // slots out of order, as a batch's are
    const int real = a == 0 ? s.tokens : s.real;  // the bucket holds the largest tree
    const int past = s.past;
    bounds[a] = past + real;
    bounds[s.sequences + a] = real;
    bounds[2 * s.sequences + a] = past;
    for (int r = 0; r < s.tokens; r++) {
      __half* row = &mask[((size_t)a * s.tokens + r) * stride];
      if (r >= real) {
        row[0] = __float2half(0.f);
        continue;
      }
      for (int j = 0; j <= past + r; j++) {
        row[j] = __float2half(0.f);
      }
    }
  }
  auto mask_d = upload(mask);
  auto table_d = upload(table);
  auto bounds_d = upload(bounds);
  __half* out = nullptr;
  CHECK(cudaMalloc(&out, (size_t)s.sequences * s.tokens * heads * s.dim * sizeof(__half)));

  TreeAttentionArgs a{};
  a.q = q;
  a.q_row = q_row;
  a.q_head = s.dim;
  a.k = cache;
  a.k_head = (long long)slots * slot_rows * s.dim;
  a.k_seq = (long long)slot_rows * s.dim;
  a.k_key = s.dim;
  a.v = cache + (size_t)s.kv_heads * slots * slot_rows * s.dim;
  a.v_head = a.k_head;
  a.v_seq = a.k_seq;
  a.v_key = a.k_key;
  a.slots = table_d;
  a.bounds = bounded ? bounds_d : nullptr;
  a.mask = mask_d;
  a.m_seq = (long long)s.tokens * stride;
  a.m_row = stride;
  a.m_key = 1;
  a.out = out;
  a.sequences = s.sequences;
  a.tokens = s.tokens;
  a.keys = s.keys;
  a.kv_heads = s.kv_heads;
  a.group = s.group;
  a.head_dim = s.dim;
  a.half = true;
  a.warps = warps;
  aded_tree_attention_split(a);
  *splits = a.splits;
  float* partial = nullptr;
  if (a.splits > 1) {
    CHECK(cudaMalloc(&partial, (size_t)a.splits * s.sequences * s.tokens * heads * (s.dim + 2) * sizeof(float)));
    a.partial = partial;
  }
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  cudaEvent_t start, end;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&end));
  std::vector<float> times;
  for (int i = -10; i < 200; i++) {
    CHECK(cudaEventRecord(start, stream));
    CHECK(aded_tree_attention_launch(a, stream));
    CHECK(cudaEventRecord(end, stream));
    CHECK(cudaEventSynchronize(end));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, end));
    if (i >= 0) {
      times.push_back(ms * 1000);
    }
  }
  std::sort(times.begin(), times.end());
  for (void* p : {(void*)q, (void*)cache, (void*)mask_d, (void*)table_d, (void*)bounds_d, (void*)out,
                  (void*)partial}) {
    cudaFree(p);
  }
  cudaStreamDestroy(stream);
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bool bounded = true;
  bool warps = false;
  for (int i = 1; i < argc; i++) {
    bounded &= std::strcmp(argv[i], "nobounds") != 0;
    warps |= std::strcmp(argv[i], "warps") == 0;
  }
  // code-15m's heads (2 kv heads of 3 query heads, 64 dimensions) and the 7B's (32 of 1, 128).
  const Shape shapes[] = {
      {1, 16, 16, 512, 300, 2, 3, 64},    {1, 64, 40, 1024, 560, 2, 3, 64},  {16, 16, 16, 512, 300, 2, 3, 64},
      {16, 32, 20, 512, 300, 2, 3, 64},   {16, 64, 20, 512, 300, 2, 3, 64},  {16, 64, 40, 1024, 560, 2, 3, 64},
      {64, 16, 8, 512, 300, 2, 3, 64},    {64, 64, 40, 1024, 560, 2, 3, 64}, {16, 16, 16, 512, 300, 32, 1, 128},
      {16, 64, 20, 512, 300, 32, 1, 128},
  };
  std::printf("%s, %s layout\n", bounded ? "with bounds" : "without bounds", warps ? "warp" : "block");
  for (const Shape& s : shapes) {
    int splits = 0;
    const float us = time_shape(s, bounded, warps, &splits);
    std::printf("%3d x (%2d of %2d tokens), %4d keys (%3d past), kv heads %2d x %d, D %3d: %2d splits, %7.1f us\n",
                s.sequences, s.real, s.tokens, s.keys, s.past, s.kv_heads, s.group, s.dim, splits, us);
  }
  return 0;
}
