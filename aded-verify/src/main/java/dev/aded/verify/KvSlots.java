package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import dev.aded.core.DeviceMemoryException;
import java.util.BitSet;

/**
 * The KV caches of a batching model: one cache of {@code slots + 1} slots of {@code slotRows} rows, a session per
 * slot and a spare last slot that padding nodes write to. One block of equal slots, so that one pass reads the keys
 * of every session in place, as one strided batch (vLLM pages its cache into blocks and reads them with a kernel of
 * its own; fixed slots as long as a session may grow trade memory for never moving a sequence). A session is
 * admitted by taking a free slot; the generator's admission queue makes callers wait for one.
 */
final class KvSlots implements AutoCloseable {
    final KvCache kv;
    final int slots;
    final int slotRows;
    /** The spare slot's first row: padding nodes write here, and nothing real reads it. */
    final int spareRow;
    /**
     * [slotRows + 1, width] additive masks by length: row c opens the first c keys, closes the rest, so that one
     * lookup gives each sequence of a batch its own past; wide enough for a gathered past and its tree (a graph's
     * tree of up to {@link GraphedSteps#MAX_NODES} nodes), or a slot and the column past it that takes what falls
     * past a pass's keys.
     */
    final PtNDArray pastMasks;
    /**
     * [256, 8] additive masks by byte: row k opens column j where bit j of k is set. A batched pass's tree masks
     * arrive as their nodes' ancestor bits, a byte to 8 columns, and one lookup spreads them out: an eighth of the
     * input the masks themselves took (B·N·N floats, 256 KB for 16 trees of 64 nodes, built and copied every pass).
     */
    final PtNDArray byteMasks;
    /** [2·kvHeads, 1] int64: where each head's rows start in a layer's cache seen as one matrix of head rows. */
    final PtNDArray headOffsets;
    private final NDManager manager;
    private final BitSet free = new BitSet();

    /** {@code slots} and {@code slotRows} as {@link LlamaModel#batching} checked them. */
    KvSlots(LlamaModel model, int slots, int slotRows) {
        this.slots = slots;
        this.slotRows = slotRows;
        this.spareRow = slots * slotRows;
        try {
            this.kv = new KvCache(model, spareRow + slotRows);
        } catch (DeviceMemoryException e) {
            throw new DeviceMemoryException("the KV cache of a batch of " + slots + " slots of " + slotRows
                    + " tokens: " + e.getMessage() + "; run fewer generations at once (concurrency, --parallel)", e);
        }
        this.manager = kv.manager.newSubManager();
        try {
            int width = slotRows + Math.max(slotRows, GraphedSteps.MAX_NODES) + 1;
            float[] masks = new float[(slotRows + 1) * width];
            for (int c = 0; c <= slotRows; c++) {
                java.util.Arrays.fill(masks, c * width + c, (c + 1) * width, Float.NEGATIVE_INFINITY);
            }
            this.pastMasks = (PtNDArray) manager.create(masks, new Shape(slotRows + 1, width))
                    .toType(model.dtype, false);
            float[] bytes = new float[256 * 8];
            for (int k = 0; k < 256; k++) {
                for (int j = 0; j < 8; j++) {
                    bytes[k * 8 + j] = (k >>> j & 1) != 0 ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
            this.byteMasks = (PtNDArray) manager.create(bytes, new Shape(256, 8)).toType(model.dtype, false);
            long[] offsets = new long[2 * model.config.numKvHeads()];
            for (int h = 0; h < offsets.length; h++) {
                offsets[h] = (long) h * kv.rows;
            }
            this.headOffsets = (PtNDArray) manager.create(offsets, new Shape(offsets.length, 1));
        } catch (EngineException e) {
            kv.close();
            throw DeviceMemory.translate(e, "the masks of a batch of " + slotRows + "-token slots",
                    model.device);
        }
        free.set(0, slots);
    }

    /** A free slot, or -1 when every slot is taken. */
    synchronized int take() {
        int slot = free.nextSetBit(0);
        if (slot >= 0) {
            free.clear(slot);
        }
        return slot;
    }

    synchronized void giveBack(int slot) {
        free.set(slot);
    }

    /** The cache rows of {@code slot}, as views. */
    KvCache region(int slot) {
        return kv.region(slot * slotRows, slotRows);
    }

    @Override
    public void close() {
        kv.close();
    }
}
