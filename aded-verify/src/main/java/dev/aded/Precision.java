package dev.aded;

import ai.djl.ndarray.types.DataType;

/** The number type of the target model's weights and activations. */
public enum Precision {
    /** Half precision: the GPU's fast path. Where two tokens' logits round to a tie, the winner may differ from f32. */
    F16,
    /** Single precision: the CPU's only type, and on a GPU the choice that agrees with plain decoding at every tie. */
    F32;

    /** This precision on {@code device}, or the device's default (f16 on a GPU, f32 on the CPU) for null. */
    static DataType on(Precision precision, Device device) {
        if (precision == null) {
            return device == Device.GPU ? DataType.FLOAT16 : DataType.FLOAT32;
        }
        return precision == F16 ? DataType.FLOAT16 : DataType.FLOAT32;
    }
}
