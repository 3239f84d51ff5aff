package dev.aded.verify;

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
    private static final long[] ONES4 = {1, 1, 1, 1};

    private final LlamaModel model;
    private final NDManager manager;
    private final PtNDArray cache;
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
        this.cache = (PtNDArray) manager.zeros(new Shape(layers, capacity, 2L * c.numKvHeads(), c.headDim()),
                model.dtype);
        this.zeros = (PtNDArray) manager.zeros(new Shape(Math.max(PREFILL_CHUNK, 1), capacity), model.dtype);
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
            run(ids, depths, treeMask, n, false);
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
        logits = run(ids, depths, treeMask, n, true);
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

    /** Runs all layers over n tokens at positions cached + depth; returns logits when asked. */
    private PtNDArray run(int[] ids, int[] depths, float[] treeMask, int n, boolean wantLogits) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        long[] ropeRows = new long[n * heads];
        for (int i = 0; i < n; i++) {
            int pos = cached + depths[i];
            if (pos >= c.maxPositions()) {
                throw new IllegalStateException("position " + pos + " is past the model's context of "
                        + c.maxPositions());
            }
            for (int h = 0; h < heads; h++) {
                ropeRows[i * heads + h] = 2L * pos + (h < c.numHeads() + c.numKvHeads() ? 0 : 1);
            }
        }
        PtNDManager m = (PtNDManager) step;
        PtNDArray rows = (PtNDArray) m.create(ropeRows, new Shape(n, heads));
        PtNDArray cos = JniUtils.embedding(rows, (PtNDArray) model.cosTable, false);
        PtNDArray sin = JniUtils.embedding(rows, (PtNDArray) model.sinTable, false);
        PtNDArray tree = (PtNDArray) m.create(treeMask, new Shape(n, n)).toType(model.dtype, false);
        PtNDArray past = JniUtils.index(zeros, new long[] {0, 0}, new long[] {n, cached}, ONES2, m);
        PtNDArray mask = JniUtils.cat(new PtNDArray[] {past, tree}, 1);
        long[] idsLong = new long[n];
        for (int i = 0; i < n; i++) {
            idsLong[i] = ids[i];
        }
        PtNDArray h = JniUtils.embedding((PtNDArray) m.create(idsLong), (PtNDArray) model.weights.embed, false);
        for (int l = 0; l < layers; l++) {
            h = model.layer(l, h, cos, sin, mask, cache, cached, n);
        }
        if (!wantLogits) {
            return null;
        }
        PtNDArray x = JniUtils.normalize(h, 2, -1, 1e-12);
        return JniUtils.linear(x, (PtNDArray) model.weights.lmHead, null);
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

    @Override
    public void commit(int[] path, int count) {
        checkOpen();
        if (count > lastSize) {
            throw new IllegalArgumentException("path of " + count + " nodes, but the last tree had " + lastSize);
        }
        LlamaConfig c = model.config;
        long width = 2L * c.numKvHeads();
        for (int i = 0; i < count; i++) {
            int src = cached + path[i];
            int dst = cached + i;
            if (src == dst) {
                continue;
            }
            // Later path nodes sit at higher rows than earlier ones, so copying in order never overwrites a row
            // still to be read.
            PtNDArray row = JniUtils.index(cache, new long[] {0, src, 0, 0},
                    new long[] {layers, src + 1, width, c.headDim()}, ONES4, (PtNDManager) step);
            JniUtils.indexSet(cache, row, new long[] {0, dst, 0, 0}, new long[] {layers, dst + 1, width, c.headDim()},
                    ONES4);
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
