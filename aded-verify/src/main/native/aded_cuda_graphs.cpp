// CUDA graph capture and replay for the verifier's forward pass, for libtorch's own tensors as DJL issues them.
//
// DJL's PyTorch engine has no graph API. These few functions give Java the piece it lacks: make a side stream
// current, capture whatever libtorch work the calling thread issues into an at::cuda::CUDAGraph, and replay it.
// The forward pass itself stays the Java code in dev.aded.verify.LlamaModel; only its host cost goes away.
// Plain C functions (called through JNA), so the library needs no JNI header and no Java at build time.
// Every function returns 0 on success or -1 with a message in the caller's buffer.
#include <ATen/Context.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/cuda/CUDAGraph.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

#include "aded_tree_attention.h"

#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

namespace {

void fail(const std::exception& e, char* err, int len) {
  if (err != nullptr && len > 0) {
    std::strncpy(err, e.what(), static_cast<size_t>(len) - 1);
    err[len - 1] = '\0';
  }
}

template <typename F>
int guarded(char* err, int len, F&& f) {
  try {
    f();
    return 0;
  } catch (const c10::Error& e) {
    // what() of a c10::Error carries a C++ backtrace; the message alone is what a caller can act on.
    std::runtime_error plain(e.msg());
    fail(plain, err, len);
  } catch (const std::exception& e) {
    fail(e, err, len);
  }
  return -1;
}

// The stream that was current before aded_side_stream_enter, restored by aded_side_stream_exit. Thread-local
// because libtorch's current stream is.
thread_local std::optional<c10::cuda::CUDAStream> previous;

// One side stream per device for every capture: each stream gets cuBLAS workspaces of its own, so taking a fresh
// pool stream per capture (libtorch hands out 32 in turn) cost tens of MB of device memory per graph.
c10::cuda::CUDAStream side_stream(int device) {
  static std::mutex lock;
  static std::vector<std::optional<c10::cuda::CUDAStream>> streams;
  std::lock_guard<std::mutex> guard(lock);
  if (static_cast<size_t>(device) >= streams.size()) {
    streams.resize(static_cast<size_t>(device) + 1);
  }
  if (!streams[device].has_value()) {
    streams[device] = c10::cuda::getStreamFromPool(false, static_cast<c10::DeviceIndex>(device));
  }
  return *streams[device];
}

}  // namespace

#ifdef ADED_NO_TREE_KERNEL
// Built without nvcc (build.sh): the helper works without the tree-attention kernel, which then refuses every call.
bool aded_tree_attention_supports(int) { return false; }
void aded_tree_attention_split(TreeAttentionArgs&) {}
cudaError_t aded_tree_attention_launch(const TreeAttentionArgs&, cudaStream_t) { return cudaErrorNotSupported; }
#endif

extern "C" {

// Makes a side stream current on the calling thread, after the work already queued on the current one. Capture
// cannot run on the legacy default stream, and warm-up must run on the stream it captures on (cuBLAS keeps a
// workspace per stream).
int aded_side_stream_enter(int device, char* err, int len) {
  return guarded(err, len, [&] {
    TORCH_CHECK(!previous.has_value(), "a side stream is already current on this thread");
    c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(device);
    c10::cuda::CUDAStream side = side_stream(device);
    cudaEvent_t ready;
    C10_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    C10_CUDA_CHECK(cudaEventRecord(ready, current.stream()));
    C10_CUDA_CHECK(cudaStreamWaitEvent(side.stream(), ready, 0));
    C10_CUDA_CHECK(cudaEventDestroy(ready));
    previous = current;
    c10::cuda::setCurrentCUDAStream(side);
  });
}

// Restores the stream that was current before, which then waits for what the side stream did.
int aded_side_stream_exit(int device, char* err, int len) {
  return guarded(err, len, [&] {
    TORCH_CHECK(previous.has_value(), "no side stream is current on this thread");
    c10::cuda::CUDAStream side = c10::cuda::getCurrentCUDAStream(device);
    cudaEvent_t done;
    C10_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    C10_CUDA_CHECK(cudaEventRecord(done, side.stream()));
    C10_CUDA_CHECK(cudaStreamWaitEvent(previous->stream(), done, 0));
    C10_CUDA_CHECK(cudaEventDestroy(done));
    c10::cuda::setCurrentCUDAStream(*previous);
    previous.reset();
  });
}

void* aded_graph_new() {
  try {
    return new at::cuda::CUDAGraph();
  } catch (...) {
    return nullptr;
  }
}

// Starts capturing the calling thread's work on its current (side) stream. With share != null the graph
// allocates from that graph's memory pool, so the graphs of one model share one pool: they replay one at a time,
// and tensors kept alive (the graphs' outputs) keep their blocks. Thread-local capture mode: other threads may
// go on with their own CUDA work.
int aded_capture_begin(void* graph, void* share, char* err, int len) {
  return guarded(err, len, [&] {
    auto* g = static_cast<at::cuda::CUDAGraph*>(graph);
    at::cuda::MempoolId_t pool = share == nullptr ? at::cuda::MempoolId_t{0, 0}
                                                  : static_cast<at::cuda::CUDAGraph*>(share)->pool();
    g->capture_begin(pool, cudaStreamCaptureModeThreadLocal);
  });
}

int aded_capture_end(void* graph, char* err, int len) {
  return guarded(err, len, [&] { static_cast<at::cuda::CUDAGraph*>(graph)->capture_end(); });
}

// Replays on the calling thread's current stream, after the work already queued there (the input copies).
int aded_replay(void* graph, char* err, int len) {
  return guarded(err, len, [&] { static_cast<at::cuda::CUDAGraph*>(graph)->replay(); });
}

void aded_graph_free(void* graph) {
  delete static_cast<at::cuda::CUDAGraph*>(graph);
}

// Copies host bytes into a device tensor in place, queued on the current stream: a graph's static input keeps
// its address, where DJL's NDArray.set would give the tensor new storage. Pageable source memory: the call
// returns once the bytes are staged, so the caller may reuse its array at once.
int aded_copy_in(void* tensor, const void* src, long long bytes, char* err, int len) {
  return guarded(err, len, [&] {
    auto* t = static_cast<at::Tensor*>(tensor);
    TORCH_CHECK(t->is_cuda() && t->is_contiguous(), "copy_in needs a contiguous CUDA tensor");
    TORCH_CHECK(bytes >= 0 && static_cast<size_t>(bytes) <= t->nbytes(), "copy_in of ", bytes,
                " bytes into a tensor of ", t->nbytes());
    C10_CUDA_CHECK(cudaMemcpyAsync(t->data_ptr(), src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice,
                                   c10::cuda::getCurrentCUDAStream(t->device().index()).stream()));
  });
}

// Copies a device tensor's first bytes to the host once the current stream has produced them.
int aded_copy_out(void* tensor, void* dst, long long bytes, char* err, int len) {
  return guarded(err, len, [&] {
    auto* t = static_cast<at::Tensor*>(tensor);
    TORCH_CHECK(t->is_cuda() && t->is_contiguous(), "copy_out needs a contiguous CUDA tensor");
    TORCH_CHECK(bytes >= 0 && static_cast<size_t>(bytes) <= t->nbytes(), "copy_out of ", bytes,
                " bytes from a tensor of ", t->nbytes());
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream(t->device().index()).stream();
    C10_CUDA_CHECK(cudaMemcpyAsync(dst, t->data_ptr(), static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, stream));
    C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  });
}

// Bytes the caching allocator holds on the device (graph pools included): what graphs cost, read before and after.
long long aded_reserved_bytes(int device) {
  try {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    return stats.reserved_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].current;
  } catch (...) {
    return -1;
  }
}

// Fused attention, softmax(q·kᵀ + mask)·v with no scaling (the queries come scaled), through libtorch's
// scaled_dot_product_attention: with an additive mask on a GPU, a memory-efficient kernel that never writes the
// scores out, where DJL's operators take a matmul, an add, a softmax and a matmul, each a round trip of the scores
// through device memory. q [.., Lq, D], k and v [.., Lk, D], mask broadcastable to [.., Lq, Lk] in q's dtype.
// Returns a new tensor (a heap-allocated at::Tensor, as DJL's handles are, which DJL frees), or null with a message.
// cuDNN's attention, libtorch's first choice on an H100, is turned off for the process: with it, code-15m's
// batched passes in the bench took twice as long and its graph captures twelve times longer, though one pass of a
// fixed shape was faster; it builds an execution plan for each new shape, which is the likely cause (not measured
// apart). Memory-efficient attention is then the choice.
void* aded_attention(void* q, void* k, void* v, void* mask, char* err, int len) {
  static std::once_flag no_cudnn;
  std::call_once(no_cudnn, [] { at::globalContext().setSDPUseCuDNN(false); });
  at::Tensor* out = nullptr;
  guarded(err, len, [&] {
    out = new at::Tensor(at::scaled_dot_product_attention(
        *static_cast<at::Tensor*>(q), *static_cast<at::Tensor*>(k), *static_cast<at::Tensor*>(v),
        *static_cast<at::Tensor*>(mask), 0.0, false, 1.0));
  });
  return out;
}

// Whether this helper has the tree-attention kernel for heads of head_dim dimensions (1) or not (0): a helper built
// without nvcc has none.
int aded_tree_attention_available(int head_dim) {
  return aded_tree_attention_supports(head_dim) ? 1 : 0;
}

// Attention over draft trees, softmax(q·kᵀ + mask)·v unscaled, as the project's own kernel (aded_tree_attention.cu): q
// [A·t, qH, D] (rows of A sequences of t tokens; rows and heads may be strided), k and v [kvH, A, L, D] (strided views
// of a KV cache, or gathered keys) or, with slots (int64 [A], each sequence's slot), [kvH, S, L, D], mask [A, t, L] or
// [t, L] in q's type (any strides), or null for none, bounds (int64 [3, A]: where each sequence's open keys and real
// tokens end, and its past, open to all of them) or null; warps: the warp layout for f16
// (aded_tree_attention_warps.cu). Returns a new tensor [A·t, qH·D] (heap-allocated as DJL's handles are, which DJL
// frees), or null with a message.
void* aded_tree_attention(void* qp, void* kp, void* vp, void* maskp, void* slotsp, void* boundsp, int warps,
                          char* err, int len) {
  at::Tensor* out = nullptr;
  guarded(err, len, [&] {
    const at::Tensor& q = *static_cast<at::Tensor*>(qp);
    const at::Tensor& k = *static_cast<at::Tensor*>(kp);
    const at::Tensor& v = *static_cast<at::Tensor*>(vp);
    TORCH_CHECK(q.dim() == 3 && k.dim() == 4 && v.dim() == 4, "tree attention takes q [rows, heads, D] and k, v"
                " [kv heads, sequences, keys, D], got ", q.sizes(), ", ", k.sizes(), ", ", v.sizes());
    TORCH_CHECK(k.sizes() == v.sizes(), "keys ", k.sizes(), " and values ", v.sizes(), " differ");
    const at::Tensor* slots = static_cast<at::Tensor*>(slotsp);
    TORCH_CHECK(slots == nullptr || (slots->dim() == 1 && slots->scalar_type() == at::kLong && slots->is_contiguous()
                                     && slots->device() == k.device()),
                "tree attention takes each sequence's slot as a contiguous int64 vector on the keys' device");
    const int64_t kv_heads = k.size(0), keys = k.size(2), dim = k.size(3);
    const int64_t sequences = slots == nullptr ? k.size(1) : slots->numel();
    const at::Tensor* bounds = static_cast<at::Tensor*>(boundsp);
    TORCH_CHECK(bounds == nullptr || (bounds->numel() == 3 * sequences && bounds->scalar_type() == at::kLong
                                      && bounds->is_contiguous() && bounds->device() == k.device()),
                "tree attention takes the sequences' bounds as a contiguous int64 [3, ", sequences,
                "] on the keys' device");
    TORCH_CHECK(aded_tree_attention_supports(static_cast<int>(dim)), "no tree-attention kernel for head dimension ",
                dim, " (see aded_tree_attention_available)");
    TORCH_CHECK(q.size(2) == dim && q.size(1) % kv_heads == 0 && q.size(0) % sequences == 0, "queries ", q.sizes(),
                " do not fit keys ", k.sizes());
    TORCH_CHECK(q.is_cuda() && q.scalar_type() == k.scalar_type() && k.scalar_type() == v.scalar_type()
                && (q.scalar_type() == at::kHalf || q.scalar_type() == at::kFloat),
                "tree attention takes CUDA tensors of one type, f16 or f32");
    // The kernel reads keys and values 16 bytes at a time.
    const int64_t vector = 16 / static_cast<int64_t>(q.element_size());
    for (const at::Tensor* t : {&k, &v}) {
      TORCH_CHECK(t->stride(3) == 1 && t->stride(0) % vector == 0 && t->stride(1) % vector == 0
                  && t->stride(2) % vector == 0 && reinterpret_cast<uintptr_t>(t->data_ptr()) % 16 == 0,
                  "tree attention needs 16-byte aligned key and value rows");
    }
    TORCH_CHECK(q.stride(2) == 1, "tree attention needs each query head's dimensions contiguous");
    TreeAttentionArgs a{};
    a.q = q.data_ptr();
    a.q_row = q.stride(0);
    a.q_head = q.stride(1);
    a.k = k.data_ptr();
    a.k_head = k.stride(0);
    a.k_seq = k.stride(1);
    a.k_key = k.stride(2);
    a.v = v.data_ptr();
    a.v_head = v.stride(0);
    a.v_seq = v.stride(1);
    a.v_key = v.stride(2);
    a.slots = slots == nullptr ? nullptr : reinterpret_cast<const long long*>(slots->data_ptr<int64_t>());
    a.bounds = bounds == nullptr ? nullptr : reinterpret_cast<const long long*>(bounds->data_ptr<int64_t>());
    const int64_t tokens = q.size(0) / sequences;
    if (maskp != nullptr) {
      const at::Tensor& m = *static_cast<at::Tensor*>(maskp);
      const bool batched = m.dim() == 3;
      TORCH_CHECK(((batched && m.size(0) == sequences) || m.dim() == 2) && m.size(-2) == tokens && m.size(-1) == keys
                  && m.scalar_type() == q.scalar_type(),
                  "a tree mask [", sequences, ", ", tokens, ", ", keys, "] (or without its first dimension) in the",
                  " queries' type, got ", m.sizes());
      a.mask = m.data_ptr();
      a.m_seq = batched ? m.stride(0) : 0;
      a.m_row = m.stride(-2);
      a.m_key = m.stride(-1);
    }
    at::Tensor result = at::empty({q.size(0), q.size(1) * dim}, q.options());
    a.out = result.data_ptr();
    a.sequences = static_cast<int>(sequences);
    a.tokens = static_cast<int>(tokens);
    a.keys = static_cast<int>(keys);
    a.kv_heads = static_cast<int>(kv_heads);
    a.group = static_cast<int>(q.size(1) / kv_heads);
    a.head_dim = static_cast<int>(dim);
    a.half = q.scalar_type() == at::kHalf;
    a.warps = warps != 0;
    aded_tree_attention_split(a);
    at::Tensor partial;  // freed by the caching allocator once the stream has used it
    if (a.splits > 1) {
      partial = at::empty({static_cast<int64_t>(a.splits) * q.size(0) * q.size(1) * (dim + 2)},
                          q.options().dtype(at::kFloat));
      a.partial = partial.data_ptr<float>();
    }
    C10_CUDA_CHECK(aded_tree_attention_launch(a, c10::cuda::getCurrentCUDAStream(q.device().index()).stream()));
    out = new at::Tensor(std::move(result));
  });
  return out;
}

// Starts libtorch's Kineto profiler for the device's kernels and the calling thread's operators: what a pass's
// kernels cost on the device, captured graphs' replays included, which no wall-clock timing of a pass can split.
int aded_profile_start(char* err, int len) {
  return guarded(err, len, [&] {
    namespace prof = torch::profiler::impl;
    prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    std::set<prof::ActivityType> activities{prof::ActivityType::CPU, prof::ActivityType::CUDA};
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
  });
}

// Stops the profiler and writes what it recorded as a Chrome trace (JSON) to path.
int aded_profile_stop(const char* path, char* err, int len) {
  return guarded(err, len, [&] { torch::autograd::profiler::disableProfiler()->save(path); });
}

}  // extern "C"
