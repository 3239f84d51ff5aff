package dev.aded.verify;

import ai.djl.Device;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's native helper {@code libaded_cuda_graphs.so} (source and build script in
 * {@code aded-verify/src/main/native}): CUDA graph capture and replay of the libtorch work that DJL issues, which
 * DJL's own API cannot do. Bound through JNA, so the helper needs no JNI header.
 *
 * <p>Found, in this order, at the path of the system property {@code aded.cudaGraphs.library}, or beside the
 * libtorch that DJL loads ({@code PYTORCH_LIBRARY_PATH}). {@code -Daded.cudaGraphs=false} turns graphs off.
 * Loaded only after DJL has run work on the GPU: loaded earlier, it made DJL's first CUDA operation fail with
 * "invalid resource handle".
 */
final class CudaGraphs {
    static final String LIBRARY = "libaded_cuda_graphs.so";
    private static final Logger LOG = LoggerFactory.getLogger(CudaGraphs.class);
    private static final int ERR = 1024;
    /** Whether the helper is bound; null until the first GPU model asks. */
    private static Boolean loaded;

    private final int device;
    private Memory staging;

    private CudaGraphs(int device) {
        this.device = device;
    }

    /** The helper for {@code device}, or empty when graphs are off, the device is no GPU, or the helper is absent. */
    static synchronized Optional<CudaGraphs> forDevice(Device device) {
        if (!device.isGpu()) {
            return Optional.empty();
        }
        if (loaded == null) {
            loaded = load();
        }
        return loaded ? Optional.of(new CudaGraphs(device.getDeviceId())) : Optional.empty();
    }

    private static boolean load() {
        if (!Boolean.parseBoolean(System.getProperty("aded.cudaGraphs", "true"))) {
            LOG.info("CUDA graphs off (-Daded.cudaGraphs=false): the verifier runs eagerly");
            return false;
        }
        Path lib = library();
        if (lib == null) {
            LOG.info("no {} (-Daded.cudaGraphs.library, or beside libtorch on PYTORCH_LIBRARY_PATH): the verifier"
                    + " runs eagerly; docs/gpu.md says how to build it", LIBRARY);
            return false;
        }
        try {
            Native.register(Binding.class, NativeLibrary.getInstance(lib.toString()));
        } catch (UnsatisfiedLinkError e) {
            LOG.warn("{} did not load ({}): the verifier runs eagerly", lib, e.getMessage());
            return false;
        }
        LOG.info("CUDA graphs on: the verifier replays captured steps ({})", lib);
        return true;
    }

    private static Path library() {
        String explicit = System.getProperty("aded.cudaGraphs.library");
        if (explicit != null) {
            return Files.isRegularFile(Path.of(explicit)) ? Path.of(explicit) : null;
        }
        String torch = System.getenv("PYTORCH_LIBRARY_PATH");
        if (torch != null) {
            Path beside = Path.of(torch).resolve(LIBRARY);
            if (Files.isRegularFile(beside)) {
                return beside;
            }
        }
        return null;
    }

    /** Runs {@code work} on a side stream of this thread, after what the current stream has queued. */
    void onSideStream(Runnable work) {
        check(Binding.aded_side_stream_enter(device, error(), ERR), "entering a side stream");
        try {
            work.run();
        } finally {
            check(Binding.aded_side_stream_exit(device, error(), ERR), "leaving the side stream");
        }
    }

    /**
     * Captures what {@code work} issues on this thread into a new graph that allocates from {@code share}'s
     * memory pool (null: a pool of its own). Call inside {@link #onSideStream}.
     */
    Graph capture(Graph share, Runnable work) {
        Pointer g = Binding.aded_graph_new();
        if (g == null) {
            throw new GraphException("could not create a CUDA graph");
        }
        Graph graph = new Graph(g);
        try {
            check(Binding.aded_capture_begin(g, share == null ? null : share.handle, error(), ERR),
                    "starting a capture");
            try {
                work.run();
            } finally {
                // Ends the capture even when the work failed, so the stream leaves capture mode.
                check(Binding.aded_capture_end(g, error(), ERR), "ending a capture");
            }
            return graph;
        } catch (RuntimeException e) {
            graph.close();
            throw e;
        }
    }

    /** Copies {@code count} floats into the start of a contiguous device tensor, queued on the current stream. */
    synchronized void copyIn(PtNDArray tensor, float[] values, int count) {
        Memory stage = staging(4L * count);
        stage.write(0, values, 0, count);
        check(Binding.aded_copy_in(new Pointer(tensor.getHandle()), stage, 4L * count, error(), ERR),
                "copying a step's input to the device");
    }

    /** Copies the first {@code count} int64 values of a device tensor to the host, waiting for the stream. */
    synchronized void copyOut(PtNDArray tensor, long[] out, int count) {
        Memory stage = staging(8L * count);
        check(Binding.aded_copy_out(new Pointer(tensor.getHandle()), stage, 8L * count, error(), ERR),
                "copying a step's output to the host");
        stage.read(0, out, 0, count);
    }

    /**
     * Native memory of at least {@code bytes} that copies go through: JNA passes a Java array by copying all of it
     * in and back out, whatever part the call uses (measured: 150 µs a call for an array of 1 MB, the size a step's
     * input array reaches after a prefill chunk), where this copies the part in use.
     */
    private Memory staging(long bytes) {
        if (staging == null || staging.size() < bytes) {
            staging = new Memory(Math.max(Math.max(bytes, 1 << 16), staging == null ? 0 : 2 * staging.size()));
        }
        return staging;
    }

    /** Bytes libtorch's caching allocator holds on this device, graph pools included. */
    long reservedBytes() {
        return Binding.aded_reserved_bytes(device);
    }

    /**
     * {@code softmax(q·kᵀ + mask)·v}, unscaled, as one fused kernel (libtorch's scaled_dot_product_attention, memory
     * efficient with a mask): q {@code [.., Lq, D]}, k and v {@code [.., Lk, D]}, mask broadcastable to
     * {@code [.., Lq, Lk]}. The result joins q's manager.
     */
    static PtNDArray attention(PtNDArray q, PtNDArray k, PtNDArray v, PtNDArray mask) {
        Pointer out = Binding.aded_attention(new Pointer(q.getHandle()), new Pointer(k.getHandle()),
                new Pointer(v.getHandle()), new Pointer(mask.getHandle()), error(), ERR);
        if (out == null) {
            check(-1, "fused attention");
        }
        return new PtNDArray((PtNDManager) q.getManager(), Pointer.nativeValue(out));
    }

    /**
     * {@code softmax(q·kᵀ + mask)·v}, unscaled, as the helper's tree-attention kernel: q {@code [A·t, qH, D]} (A
     * sequences of t rows; rows and heads may be strided), k and v {@code [kvH, A, L, D]} (views of a cache, or
     * gathered) or, with {@code slots} (each sequence's slot, [A], int64), {@code [kvH, S, L, D]}, mask
     * {@code [A, t, L]} or {@code [t, L]}, or null for none; {@code bounds} (int64 {@code [3, A]}, or null) where
     * each sequence's open keys and its real tokens end, and its past, open to each real token: the kernel leaves
     * the keys past the first unread, writes zeros for the tokens past the second, and reads the mask only past the
     * third, so that a pass's padding costs next to nothing; {@code warps}: in f16, the warp layout (each warp its
     * own 16 query rows in registers, aded_tree_attention_warps.cu) in place of the block layout. Returns
     * {@code [A·t, qH·D]}, in q's manager.
     */
    static PtNDArray treeAttention(PtNDArray q, PtNDArray k, PtNDArray v, PtNDArray mask, PtNDArray slots,
            PtNDArray bounds, boolean warps) {
        Pointer out = Binding.aded_tree_attention(new Pointer(q.getHandle()), new Pointer(k.getHandle()),
                new Pointer(v.getHandle()), mask == null ? null : new Pointer(mask.getHandle()),
                slots == null ? null : new Pointer(slots.getHandle()),
                bounds == null ? null : new Pointer(bounds.getHandle()), warps ? 1 : 0, error(), ERR);
        if (out == null) {
            check(-1, "tree attention");
        }
        return new PtNDArray((PtNDManager) q.getManager(), Pointer.nativeValue(out));
    }

    /**
     * Whether the helper has the tree-attention kernel for heads of {@code headDim} dimensions: it is built for 64
     * and 128, and only where nvcc built the helper.
     */
    boolean treeAttentionSupports(int headDim) {
        return Binding.aded_tree_attention_available(headDim) != 0;
    }

    /**
     * Starts libtorch's profiler: the device's kernels (captured graphs' replays included) and this thread's
     * operators, until {@link #stopProfile}.
     */
    static void startProfile() {
        check(Binding.aded_profile_start(error(), ERR), "starting the profiler");
    }

    /** Stops the profiler and writes its record to {@code trace} as a Chrome trace. */
    static void stopProfile(Path trace) {
        check(Binding.aded_profile_stop(trace.toString(), error(), ERR), "writing the profile " + trace);
    }

    /** A captured graph: replays the captured work on the current stream. */
    final class Graph implements AutoCloseable {
        private Pointer handle;

        private Graph(Pointer handle) {
            this.handle = handle;
        }

        void replay() {
            check(Binding.aded_replay(handle, error(), ERR), "replaying a CUDA graph");
        }

        @Override
        public void close() {
            if (handle != null) {
                Binding.aded_graph_free(handle);
                handle = null;
            }
        }
    }

    /** A failure inside the helper, with libtorch's or CUDA's message. */
    static final class GraphException extends RuntimeException {
        GraphException(String message) {
            super(message);
        }
    }

    private static final ThreadLocal<byte[]> ERRORS = ThreadLocal.withInitial(() -> new byte[ERR]);

    private static byte[] error() {
        return ERRORS.get();
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            byte[] e = error();
            int end = 0;
            while (end < e.length && e[end] != 0) {
                end++;
            }
            throw new GraphException(what + ": " + new String(e, 0, end, StandardCharsets.UTF_8));
        }
    }

    /** JNA direct mapping of the helper's C functions. */
    private static final class Binding {
        static native int aded_side_stream_enter(int device, byte[] err, int len);

        static native int aded_side_stream_exit(int device, byte[] err, int len);

        static native Pointer aded_graph_new();

        static native int aded_capture_begin(Pointer graph, Pointer share, byte[] err, int len);

        static native int aded_capture_end(Pointer graph, byte[] err, int len);

        static native int aded_replay(Pointer graph, byte[] err, int len);

        static native void aded_graph_free(Pointer graph);

        static native int aded_copy_in(Pointer tensor, Pointer src, long bytes, byte[] err, int len);

        static native int aded_copy_out(Pointer tensor, Pointer dst, long bytes, byte[] err, int len);

        static native long aded_reserved_bytes(int device);

        static native Pointer aded_attention(Pointer q, Pointer k, Pointer v, Pointer mask, byte[] err, int len);

        static native Pointer aded_tree_attention(Pointer q, Pointer k, Pointer v, Pointer mask, Pointer slots,
                Pointer bounds, int warps, byte[] err, int len);

        static native int aded_tree_attention_available(int headDim);

        static native int aded_profile_start(byte[] err, int len);

        static native int aded_profile_stop(String path, byte[] err, int len);
    }
}
