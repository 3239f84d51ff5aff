package dev.aded.verify;

import java.nio.file.Path;

/**
 * A profile of the GPU's kernels while it is open, written as a Chrome trace when closed: what each kernel of a
 * pass cost on the device, inside CUDA graph replays too, where a pass's wall time cannot tell the device's work
 * from the host's. Through the project's native helper (libtorch's Kineto profiler); a development tool, used by
 * the benchmarks. {@code aded-examples/gpu/trace-summary.py} sums a trace by kernel.
 */
public final class DeviceProfile implements AutoCloseable {
    private final Path trace;

    private DeviceProfile(Path trace) {
        this.trace = trace;
    }

    /**
     * Starts recording {@code model}'s device, to be written to {@code trace}; call after the model has run there,
     * as the helper's loading needs.
     *
     * @throws IllegalStateException when the model's device is no GPU or the helper is absent or off
     */
    public static DeviceProfile start(LlamaModel model, Path trace) {
        if (CudaGraphs.forDevice(model.device).isEmpty()) {
            throw new IllegalStateException("profiling " + model.device + " needs a GPU and the native helper "
                    + CudaGraphs.LIBRARY + " (docs/gpu.md)");
        }
        CudaGraphs.startProfile();
        return new DeviceProfile(trace);
    }

    /** Stops recording and writes the trace. */
    @Override
    public void close() {
        CudaGraphs.stopProfile(trace);
    }
}
