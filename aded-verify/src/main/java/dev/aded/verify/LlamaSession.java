package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;

/**
 * One sequence's KV cache inside a {@link LlamaModel}, and the forward passes over it.
 *
 * <p>The cache is one preallocated tensor {@code [layers, capacity, 2·kvHeads, headDim]}, position-major, so a
 * step writes its new keys and values with one in-place slice assignment per layer, and keeping an accepted node
 * is one row copy for all layers at once. Every step's temporaries live in a sub-manager that the next step
 * closes, so native memory stays flat however long the generation.
 */
final class LlamaSession implements ModelSession, TreeLogits {
    /** Prompt tokens per prefill pass: bounds the [chunk, chunk] mask and activations of long prompts. */
    private static final int PREFILL_CHUNK = 256;
    private static final long[] ONES2 = {1, 1};

    private final LlamaModel model;
    private final NDManager manager;
    private final PtNDArray cache;
    private final PtNDArray[] layerCaches;
    private final PtNDArray zeros;
    private final int capacity;
    private final int layers;
    private int cached;

    private NDManager step;
    private PtNDArray logits;
    private int[] argmax = new int[0];
    private int lastSize;
    private boolean closed;

    LlamaSession(LlamaModel model, int capacity) {
        this.model = model;
        this.capacity = capacity;
        this.layers = model.config.numLayers();
        this.manager = model.manager.newSubManager();
        LlamaConfig c = model.config;
        Shape cacheShape = new Shape(layers, capacity, 2L * c.numKvHeads(), c.headDim());
        try {
            this.cache = (PtNDArray) manager.zeros(cacheShape, model.dtype);
            this.layerCaches = new PtNDArray[layers];
            for (int l = 0; l < layers; l++) {
                layerCaches[l] = JniUtils.getItem(cache, new long[] {l}, (PtNDManager) manager);
            }
            this.zeros = (PtNDArray) manager.zeros(new Shape(Math.max(PREFILL_CHUNK, 1), capacity), model.dtype);
        } catch (EngineException e) {
            manager.close();
            throw DeviceMemory.translate(e, "a KV cache of " + capacity + " tokens ("
                    + DeviceMemory.bytes((double) cacheShape.size() * model.dtype.getNumOfBytes()) + ")",
                    model.device);
        }
    }

    @Override
    public int cachedLength() {
        return cached;
    }

    @Override
    public void prefill(int[] tokens, int from, int to) {
        checkOpen();
        if (to - from > capacity - cached) {
            throw new IllegalArgumentException("prefill of " + (to - from) + " tokens does not fit the session's"
                    + " cache (" + cached + " of " + capacity + " used)");
        }
        for (int start = from; start < to; start += PREFILL_CHUNK) {
            int n = Math.min(PREFILL_CHUNK, to - start);
            int[] ids = new int[n];
            int[] depths = new int[n];
            float[] treeMask = new float[n * n];
            for (int i = 0; i < n; i++) {
                ids[i] = tokens[start + i];
                depths[i] = i;
                for (int j = i + 1; j < n; j++) {
                    treeMask[i * n + j] = Float.NEGATIVE_INFINITY;
                }
            }
            newStep();
            try {
                run(ids, depths, treeMask, n, false);
            } catch (EngineException e) {
                throw DeviceMemory.translate(e, "a prefill pass over " + n + " tokens", model.device);
            }
            cached += n;
        }
    }

    @Override
    public TreeLogits forward(DraftTree tree) {
        checkOpen();
        int n = tree.size();
        if (n > capacity - cached) {
            throw new IllegalStateException("a tree of " + n + " nodes does not fit the session's cache (" + cached
                    + " of " + capacity + " used)");
        }
        if (n > PREFILL_CHUNK) {
            throw new IllegalArgumentException("trees are limited to " + PREFILL_CHUNK + " nodes, got " + n);
        }
        int[] ids = new int[n];
        int[] depths = new int[n];
        tree.copyTokens(ids);
        tree.copyDepths(depths);
        float[] treeMask = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (!tree.isAncestorOrSelf(j, i)) {
                    treeMask[i * n + j] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        newStep();
        try {
            logits = run(ids, depths, treeMask, n, true);
        } catch (EngineException e) {
            throw DeviceMemory.translate(e, "a forward pass over a tree of " + n + " nodes", model.device);
        }
        long[] best = JniUtils.argMax(logits, -1, false).toLongArray();
        if (argmax.length < n) {
            argmax = new int[Math.max(n, 2 * argmax.length)];
        }
        for (int i = 0; i < n; i++) {
            argmax[i] = (int) best[i];
        }
        lastSize = n;
        return this;
    }

    /**
     * Runs all layers over n tokens at positions cached + depth; returns logits when asked. The step's inputs
     * (token ids, RoPE table rows, tree mask) go to the device in one copy: each host-to-device copy waits for the
     * device, and floats hold the ids and row numbers exactly (below 2^24).
     */
    private PtNDArray run(int[] ids, int[] depths, float[] treeMask, int n, boolean wantLogits) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        float[] input = new float[n + n * heads + n * n];
        for (int i = 0; i < n; i++) {
            int pos = cached + depths[i];
            if (pos >= c.maxPositions()) {
                throw new IllegalStateException("position " + pos + " is past the model's context of "
                        + c.maxPositions());
            }
            input[i] = ids[i];
            for (int h = 0; h < heads; h++) {
                input[n + i * heads + h] = 2L * pos + (h < c.numHeads() + c.numKvHeads() ? 0 : 1);
            }
        }
        System.arraycopy(treeMask, 0, input, n + n * heads, n * n);
        // Thread-local in PyTorch: set on the thread that runs the step.
        JniUtils.setGradMode(false);
        PtNDManager m = (PtNDManager) step;
        PtNDArray all = (PtNDArray) m.create(input);
        PtNDArray tokens = JniUtils.to(JniUtils.slice(all, 0, 0, n, 1), DataType.INT64, model.device);
        PtNDArray rows = JniUtils.to(JniUtils.reshape(JniUtils.slice(all, 0, n, n + (long) n * heads, 1),
                new long[] {n, heads}), DataType.INT64, model.device);
        PtNDArray rope = JniUtils.reshape(JniUtils.embedding(rows, (PtNDArray) model.ropeTable, false),
                new long[] {n, heads, 2, c.headDim()});
        PtNDArray mask = n == 1 ? null : mask(all, n * (1L + heads), input.length, n);
        PtNDArray h = JniUtils.embedding(tokens, (PtNDArray) model.weights.embed, false);
        for (int l = 0; l < layers; l++) {
            h = model.layer(l, h, rope, mask, layerCaches[l], cached, n);
        }
        if (!wantLogits) {
            return null;
        }
        return JniUtils.linear(LlamaModel.normalized(h), (PtNDArray) model.weights.lmHead, null);
    }

    /**
     * The step's additive mask [g·n, cached + n]: the past open to all, the tree part from the step's input, tiled
     * once per step into the layers' (group, token) row order.
     */
    private PtNDArray mask(PtNDArray input, long from, long to, int n) {
        PtNDArray tree = JniUtils.to(JniUtils.reshape(JniUtils.slice(input, 0, from, to, 1), new long[] {n, n}),
                model.dtype, model.device);
        PtNDArray zeroRows = JniUtils.slice(zeros, 0, 0, n, 1);
        zeroRows.attach(step); // a view of a session tensor, made the step's so that it goes with the step
        PtNDArray past = JniUtils.slice(zeroRows, 1, 0, cached, 1);
        PtNDArray mask = JniUtils.cat(new PtNDArray[] {past, tree}, 1);
        int g = model.config.groupSize();
        return g == 1 ? mask : JniUtils.tile(mask, new long[] {g, 1});
    }

    /** Closes the previous step's temporaries and opens a scope for this one's. */
    private void newStep() {
        if (step != null) {
            step.close();
        }
        logits = null;
        lastSize = 0;
        step = manager.newSubManager();
    }

    /** Later prefills and commits overwrite the forgotten rows, so moving the length back is all it takes. */
    @Override
    public void truncate(int length) {
        checkOpen();
        if (length < 0 || length > cached) {
            throw new IllegalArgumentException("cannot truncate a cache of " + cached + " tokens to " + length);
        }
        cached = length;
        lastSize = 0;
    }

    @Override
    public void commit(int[] path, int count) {
        checkOpen();
        if (count > lastSize) {
            throw new IllegalArgumentException("path of " + count + " nodes, but the last tree had " + lastSize);
        }
        for (int i = 0; i < count; i++) {
            int src = cached + path[i];
            int dst = cached + i;
            if (src == dst) {
                continue;
            }
            // Later path nodes sit at higher rows than earlier ones, so copying in order never overwrites a row
            // still to be read. One copy moves the row of every layer.
            try (PtNDArray row = JniUtils.slice(cache, 1, src, src + 1, 1)) {
                JniUtils.indexSet(cache, row, new long[] {0, dst}, new long[] {layers, dst + 1}, ONES2);
            }
        }
        cached += count;
        lastSize = 0;
    }

    @Override
    public int argmax(int node) {
        checkNode(node);
        return argmax[node];
    }

    @Override
    public void logits(int node, float[] out) {
        checkNode(node);
        PtNDArray row = JniUtils.index(logits, new long[] {node, 0}, new long[] {node + 1, model.vocabSize()},
                ONES2, (PtNDManager) step);
        float[] values = row.toType(DataType.FLOAT32, false).toFloatArray();
        System.arraycopy(values, 0, out, 0, values.length);
    }

    private void checkNode(int node) {
        if (logits == null || node < 0 || node >= lastSize) {
            throw new IllegalStateException("no logits for node " + node + ": call forward(tree) first");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            manager.close();
        }
    }
}
