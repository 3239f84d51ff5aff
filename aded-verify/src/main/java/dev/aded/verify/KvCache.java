package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;

/**
 * Keys and values for every layer: a tensor {@code [layers, 2·kvHeads, rows, headDim]}, head-major, so that the
 * keys of a head are rows of one matrix: attention multiplies them in place, and a batch's keys gathered from many
 * sequences' rows come out as {@code [heads, sequences, rows, headDim]}, a layout batched matmuls read without
 * another copy. A step writes its new rows with one in-place assignment per layer; keeping the accepted nodes is
 * one gather and one scatter of their rows for all layers and heads at once ({@link RowMoves}).
 */
final class KvCache implements AutoCloseable {

    final NDManager manager;
    final PtNDArray cache;
    /** Views of {@link #cache}, one per layer: {@code [2·kvHeads, rows, headDim]}. */
    final PtNDArray[] layers;
    final int rows;

    KvCache(LlamaModel model, int rows) {
        LlamaConfig c = model.config;
        this.rows = rows;
        this.manager = model.manager.newSubManager();
        Shape shape = new Shape(c.numLayers(), 2L * c.numKvHeads(), rows, c.headDim());
        try {
            this.cache = (PtNDArray) manager.zeros(shape, model.dtype);
            this.layers = new PtNDArray[c.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                layers[l] = Torch.at(cache, new long[] {l}, (PtNDManager) manager);
            }
        } catch (EngineException e) {
            manager.close();
            throw DeviceMemory.translate(e, "a KV cache of " + rows + " tokens ("
                    + DeviceMemory.bytes((double) shape.size() * model.dtype.getNumOfBytes()) + ")", model.device);
        }
    }

    /** Rows {@code [start, start + rows)} of {@code whole}: views, so that a session works on its slot of a batch. */
    private KvCache(KvCache whole, int start, int rows) {
        this.rows = rows;
        this.manager = whole.manager.newSubManager();
        this.cache = Torch.slice(whole.cache, 2, start, start + (long) rows);
        cache.attach(manager);
        this.layers = new PtNDArray[whole.layers.length];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = Torch.slice(whole.layers[l], 1, start, start + (long) rows);
            layers[l].attach(manager);
        }
    }

    /** A view of rows {@code [start, start + rows)}; closing it frees the views only. */
    KvCache region(int start, int rows) {
        return new KvCache(this, start, rows);
    }

    /** Makes the pending {@code moves} now, eagerly, and clears them. */
    void move(RowMoves moves) {
        int n = moves.count();
        if (n == 0) {
            return;
        }
        float[] rows = new float[2 * n];
        moves.encode(rows, 0, n, 0, 0);
        try (NDManager scope = manager.newSubManager()) {
            PtNDArray all = (PtNDArray) scope.create(rows);
            move(LlamaSession.asIds(all, 0, 2L * n, scope.getDevice()), 1, n, (PtNDManager) scope);
        }
        moves.clear();
    }

    /**
     * Moves rows in every layer and head as {@code ids} (int64 on the device) say, laid out as
     * {@link RowMoves#encode} writes them: for each of {@code sequences}, {@code slots} sources, then as many
     * destinations. Every source is read before any row is written.
     */
    void move(PtNDArray ids, int sequences, int slots, PtNDManager scope) {
        PtNDArray pairs = Torch.reshape(ids, new long[] {sequences, 2, slots});
        PtNDArray from = Torch.reshape(Torch.slice(pairs, 1, 0, 1), new long[] {-1});
        PtNDArray to = Torch.reshape(Torch.slice(pairs, 1, 1, 2), new long[] {-1});
        PtNDArray rows = Torch.select(cache, new NDIndex(":, :, {}", from), scope);
        Torch.put(cache, new NDIndex(":, :, {}", to), rows);
    }

    @Override
    public void close() {
        manager.close();
    }
}
