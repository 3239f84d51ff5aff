package dev.aded.verify;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The libtorch operations the verifier issues, each one call into DJL's engine-internal {@code JniUtils}. The
 * verifier calls these rather than DJL's NDArray API because the NDArray methods add shape checks, copies and
 * extra operations that cost host time per step (docs/gpu.md), and because a few (in-place slice assignment,
 * single-dimension slices) have no NDArray form. {@code JniUtils} is not a public API and may change between DJL
 * releases: this class is the one place an upgrade has to touch.
 */
final class Torch {
    private Torch() {}

    /** Gradient tracking off for the calling thread (libtorch's mode is thread-local). */
    static void noGrad() {
        JniUtils.setGradMode(false);
    }

    static PtNDArray to(PtNDArray a, DataType type, Device device) {
        return JniUtils.to(a, type, device);
    }

    /** A view of {@code a}: elements [start, stop) along {@code dim}. */
    static PtNDArray slice(PtNDArray a, long dim, long start, long stop) {
        return JniUtils.slice(a, dim, start, stop, 1);
    }

    /** A copy of the block [min, max) of {@code a}, in {@code manager}. */
    static PtNDArray index(PtNDArray a, long[] min, long[] max, PtNDManager manager) {
        long[] steps = new long[min.length];
        java.util.Arrays.fill(steps, 1);
        return JniUtils.index(a, min, max, steps, manager);
    }

    /** {@code a[index]}, a copy in {@code manager}, for an index of tensors (rows read on the device). */
    static PtNDArray select(PtNDArray a, NDIndex index, PtNDManager manager) {
        return JniUtils.indexAdv(a, index, manager);
    }

    /** A view of {@code a} with dimensions {@code d0} and {@code d1} swapped. */
    static PtNDArray transpose(PtNDArray a, long d0, long d1) {
        return JniUtils.transpose(a, d0, d1);
    }

    /** {@code a[index] = value} in place, for an index of tensors (rows read on the device). */
    static void put(PtNDArray a, NDIndex index, PtNDArray value) {
        JniUtils.indexAdvPut(a, index, value);
    }

    /** {@code a[min:max] = value} in place, one unit step per dimension. */
    static void set(PtNDArray a, PtNDArray value, long[] min, long[] max) {
        long[] steps = new long[min.length];
        java.util.Arrays.fill(steps, 1);
        JniUtils.indexSet(a, value, min, max, steps);
    }

    /** A view of {@code a} at fixed leading indices, in {@code manager}. */
    static PtNDArray at(PtNDArray a, long[] indices, PtNDManager manager) {
        return JniUtils.getItem(a, indices, manager);
    }

    static PtNDArray reshape(PtNDArray a, long[] shape) {
        return JniUtils.reshape(a, shape);
    }

    static PtNDArray cat(PtNDArray[] arrays, long dim) {
        return JniUtils.cat(arrays, dim);
    }

    static PtNDArray tile(PtNDArray a, long[] repeats) {
        return JniUtils.tile(a, repeats);
    }

    static PtNDArray softmax(PtNDArray a, long dim, DataType type) {
        return JniUtils.softmax(a, dim, type);
    }

    /** Indices of the largest values along the last dimension. */
    static PtNDArray argmaxLast(PtNDArray a) {
        return JniUtils.argMax(a, -1, false);
    }

    /** The int64 values of {@code a} (ids, argmaxes) as ints into {@code out}, which holds at least as many. */
    static void copyInts(PtNDArray a, int[] out) {
        long[] values = a.toLongArray();
        for (int i = 0; i < values.length; i++) {
            out[i] = (int) values[i];
        }
    }

    static PtNDArray permute(PtNDArray a, long[] dims) {
        return JniUtils.permute(a, dims);
    }

    static PtNDArray add(PtNDArray a, PtNDArray b) {
        return JniUtils.add(a, b);
    }

    static PtNDArray mul(PtNDArray a, PtNDArray b) {
        return JniUtils.mul(a, b);
    }

    static PtNDArray div(PtNDArray a, PtNDArray b) {
        return JniUtils.div(a, b);
    }

    static PtNDArray matmul(PtNDArray a, PtNDArray b) {
        return JniUtils.matmul(a, b);
    }

    static PtNDArray sigmoid(PtNDArray a) {
        return JniUtils.sigmoid(a);
    }

    /** {@code input · weightᵀ + bias} (bias may be null), one addmm. */
    static PtNDArray linear(PtNDArray input, PtNDArray weight, PtNDArray bias) {
        return JniUtils.linear(input, weight, bias);
    }

    /** Rows of {@code table} at the int64 indices of {@code ids}. */
    static PtNDArray embedding(PtNDArray ids, PtNDArray table) {
        return JniUtils.embedding(ids, table, false);
    }

    /**
     * {@link #embedding} with the result in {@code manager}: libtorch's results join their first operand's manager,
     * here the index, which usually lives for the whole pass, while the rows gathered belong to one layer.
     */
    static PtNDArray embedding(PtNDArray ids, PtNDArray table, NDManager manager) {
        PtNDArray rows = JniUtils.embedding(ids, table, false);
        rows.attach(manager);
        return rows;
    }

    /** The L2 norm over the given axes, kept as size-1 dimensions. */
    static PtNDArray norm(PtNDArray a, int[] axes) {
        return JniUtils.norm(a, 2, axes, true);
    }
}
