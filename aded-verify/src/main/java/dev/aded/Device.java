package dev.aded;

import ai.djl.engine.Engine;

/** Where the target model runs. */
public enum Device {
    /** f32 on the host's cores: DJL's CPU build of PyTorch. */
    CPU,
    /** f16 on the first CUDA GPU PyTorch sees (docs/gpu.md). */
    GPU;

    /** DJL's device, failing clearly when a GPU is asked for and PyTorch sees none. */
    ai.djl.Device toDjl() {
        if (this == CPU) {
            return ai.djl.Device.cpu();
        }
        if (Engine.getEngine("PyTorch").getGpuCount() == 0) {
            throw new IllegalArgumentException("device GPU: PyTorch sees no CUDA GPU (no driver, no CUDA build of"
                    + " libtorch on PYTORCH_LIBRARY_PATH, or CUDA_VISIBLE_DEVICES hides it)");
        }
        return ai.djl.Device.gpu();
    }
}
