package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;

/**
 * One sequence's KV cache inside a {@link LlamaModel}, and the forward passes over it.
 *
 * <p>Tree steps, and prefill chunks as chains, replay CUDA graphs when the model has them (a GPU with the native
 * helper, see {@link GraphedSteps}): the session then borrows a cache from the model's {@link GraphPool} and gives it
 * back when it closes. Otherwise, and after a failed capture, they run eagerly, issuing the pass operation by
 * operation. In a batching model ({@link KvSlots}) the session's cache is a slot of the batch's, and its tree steps
 * run through {@link BatchedSteps}, alone or with other sessions' trees. Every eager step's temporaries live in a
 * sub-manager that the next step closes, so native memory stays flat however long the generation.
 */
final class LlamaSession implements ModelSession, TreeLogits {
    /** Prompt tokens per prefill pass: bounds the [chunk, chunk] mask and activations of long prompts. */
    private static final int PREFILL_CHUNK = 256;

    private final LlamaModel model;
    private final NDManager manager;
    private final GraphPool pool;
    private final GraphedSteps graphed;
    private final KvSlots slots;
    private final int slot;
    private final KvCache kv;
    /** Rows the last commit kept, for the next pass to move into place. */
    final RowMoves moves = new RowMoves();
    private final PtNDArray zeros;
    private final int capacity;
    private int cached;

    private NDManager step;
    private PtNDArray logits;
    /** The batched pass {@link #logits} belong to, released at the next step. */
    private BatchedSteps.Pass pass;
    /** The row of {@link #logits} that holds node 0: past the earlier sequences of a batch. */
    private int logitsRow;
    private int[] argmax = new int[0];
    /** The graph step whose argmax is still on the device: fetched when first needed, see {@link #await}. */
    private GraphBuckets.Bucket pending;
    /** The batched pass whose argmaxes this session has yet to take its rows of: see {@link #await}. */
    private BatchedSteps.Argmaxes batchPending;
    private int lastSize;
    private boolean closed;
    /** A batch session's prefill chunks, as chains (see {@link #prefillAsChain}). */
    private DraftTree chain;
    private int[] chainPath;

    /** A session of its own cache, with graphs when {@code pool} lends a graph-carrying one. */
    LlamaSession(LlamaModel model, int capacity, GraphPool pool) {
        this(model, capacity, pool, null, -1);
    }

    /** A session on {@code slot} of a batch's caches. */
    LlamaSession(LlamaModel model, int capacity, KvSlots slots, int slot) {
        this(model, capacity, null, slots, slot);
    }

    private LlamaSession(LlamaModel model, int capacity, GraphPool pool, KvSlots slots, int slot) {
        this.model = model;
        this.capacity = capacity;
        this.pool = pool;
        this.slots = slots;
        this.slot = slot;
        this.graphed = pool == null ? null : pool.borrow(capacity);
        try {
            this.kv = slots != null ? slots.region(slot) : graphed != null ? graphed.kv : new KvCache(model, capacity);
        } catch (RuntimeException e) {
            giveBack();
            throw e;
        }
        this.manager = model.manager.newSubManager();
        try {
            // The eager pass's mask columns for the past; a batch session's passes make their masks from the batch's
            // table instead.
            this.zeros = slots != null ? null
                    : (PtNDArray) manager.zeros(new Shape(PREFILL_CHUNK, capacity), model.dtype);
        } catch (EngineException e) {
            close();
            throw DeviceMemory.translate(e, "the attention mask of a session of " + capacity + " tokens",
                    model.device);
        }
    }

    int capacity() {
        return capacity;
    }

    LlamaModel model() {
        return model;
    }

    /** The batch slot this session's cache is, or -1 for a cache of its own. */
    int slot() {
        return slot;
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
            if (slots != null || replays()) {
                prefillAsChain(tokens, start, n);
                continue;
            }
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
                eager(ids, depths, treeMask, n, false);
            } catch (EngineException e) {
                throw DeviceMemory.translate(e, "a prefill pass over " + n + " tokens", model.device);
            }
            cached += n;
        }
    }

    /**
     * A prefill chunk as a chain through the step's graphs (a batch session's through the batch's pass), all of it
     * kept: a replay, where an eager prefill issues hundreds of operations (code-15m on the H200: several ms a
     * prompt, a tenth of an aded generation of 128 tokens) and holds up every running generation meanwhile.
     */
    private void prefillAsChain(int[] tokens, int start, int n) {
        if (chain == null) {
            chain = new DraftTree(PREFILL_CHUNK);
            chainPath = new int[PREFILL_CHUNK];
            for (int i = 0; i < PREFILL_CHUNK; i++) {
                chainPath[i] = i;
            }
        }
        chain.reset(tokens[start]);
        for (int i = 1; i < n; i++) {
            chain.add(i - 1, tokens[start + i], 1f);
        }
        forward(chain);
        commit(chainPath, n);
    }

    @Override
    public TreeLogits forward(DraftTree tree) {
        checkOpen();
        if (slots != null) {
            return model.forwardAll(new ModelSession[] {this}, new DraftTree[] {tree}, 1)[0];
        }
        int n = tree.size();
        requireRoom(n);
        if (n > PREFILL_CHUNK) {
            throw new IllegalArgumentException("trees are limited to " + PREFILL_CHUNK + " nodes, got " + n);
        }
        int[] ids = new int[n];
        int[] depths = new int[n];
        tree.copyTokens(ids);
        tree.copyDepths(depths);
        float[] treeMask = new float[n * n];
        writeTreeMask(tree, treeMask, 0, n);
        newStep();
        if (argmax.length < n) {
            argmax = new int[Math.max(n, 2 * argmax.length)];
        }
        logitsRow = 0;
        try {
            pending = replays() ? replay(ids, depths, treeMask, n) : null;
            if (pending != null) {
                logits = pending.logits();
            } else {
                logits = eager(ids, depths, treeMask, n, true);
                Torch.copyInts(Torch.argmaxLast(logits), argmax);
            }
        } catch (EngineException e) {
            throw DeviceMemory.translate(e, "a forward pass over a tree of " + n + " nodes", model.device);
        }
        lastSize = n;
        return this;
    }

    /** @throws IllegalStateException when a tree of {@code n} nodes does not fit what is left of the cache */
    void requireRoom(int n) {
        if (n > capacity - cached) {
            throw new IllegalStateException("a tree of " + n + " nodes does not fit the session's cache (" + cached
                    + " of " + capacity + " used)");
        }
    }

    /**
     * The additive mask of {@code tree} into {@code out}, row i at {@code at + i·stride}: 0 where column j is node
     * i or one of its ancestors, −∞ elsewhere among the tree's columns.
     */
    static void writeTreeMask(DraftTree tree, float[] out, int at, int stride) {
        int n = tree.size();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out[at + i * stride + j] = tree.isAncestorOrSelf(j, i) ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Takes this session's part of a batched pass: {@code n} nodes from logits row {@code row}, their argmaxes from
     * {@code argmaxes} when first awaited; {@code pass} holds the logits of an eager pass until this session's next
     * step (null for a graph's own output buffers).
     */
    void batched(PtNDArray batchLogits, int row, BatchedSteps.Argmaxes argmaxes, int n, BatchedSteps.Pass pass) {
        checkOpen();
        newStep();
        this.pass = pass;
        if (argmax.length < n) {
            argmax = new int[Math.max(n, 2 * argmax.length)];
        }
        batchPending = argmaxes;
        logits = batchLogits;
        logitsRow = row;
        lastSize = n;
    }

    /** Whether this session's steps replay graphs: it holds a graph-carrying cache and no capture has failed. */
    private boolean replays() {
        return graphed != null && pool.usable();
    }

    /**
     * The step as a graph replay, started; null when a capture fails (logged once), and the step then runs
     * eagerly.
     */
    private GraphBuckets.Bucket replay(int[] ids, int[] depths, float[] treeMask, int n) {
        moveBefore(graphed.captured(n, cached));
        try {
            return graphed.forward(ids, depths, treeMask, n, cached, moves);
        } catch (CudaGraphs.GraphException | EngineException e) {
            pool.failed(e);
            return null;
        }
    }

    /**
     * Runs all layers over n tokens at positions cached + depth, issuing each operation; returns logits when
     * asked. The step's inputs (token ids, RoPE table rows, tree mask) go to the device in one copy: each
     * host-to-device copy waits for the device, and floats hold the ids and row numbers exactly (below 2^24).
     */
    private PtNDArray eager(int[] ids, int[] depths, float[] treeMask, int n, boolean wantLogits) {
        moveNow();
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        float[] input = new float[n * (1 + heads) + n * n];
        encodeTokens(input, 0, n, ids, depths, n, n, cached, c);
        System.arraycopy(treeMask, 0, input, n * (1 + heads), n * n);
        // Thread-local in PyTorch: set on the thread that runs the step.
        Torch.noGrad();
        PtNDArray all = (PtNDArray) step.create(input);
        PtNDArray tokens = asIds(all, 0, n, model.device);
        PtNDArray rows = Torch.reshape(asIds(all, n, n + (long) n * heads, model.device), new long[] {n, heads});
        PtNDArray mask = n == 1 ? null : mask(all, n * (1L + heads), input.length, n);
        return model.pass(tokens, rows, mask, kv, LlamaModel.CacheWrite.at(cached, n, c),
                LlamaModel.Keys.prefix(cached + n, c), n, wantLogits);
    }

    /**
     * Writes the token ids [nodes] and RoPE table rows [nodes·heads] of a step into {@code input} at
     * {@code idsAt} and {@code ropeAt}: node i of n at position {@code cached + depths[i]}; nodes past n (padding of
     * a graph bucket) get token 0 at position 0.
     */
    static void encodeTokens(float[] input, int idsAt, int ropeAt, int[] ids, int[] depths, int n, int nodes,
            int cached, LlamaConfig c) {
        int heads = c.numHeads() + 2 * c.numKvHeads();
        int qk = c.numHeads() + c.numKvHeads();
        for (int i = 0; i < nodes; i++) {
            int pos = i < n ? cached + depths[i] : 0;
            if (pos >= c.maxPositions()) {
                throw new IllegalStateException("position " + pos + " is past the model's context of "
                        + c.maxPositions());
            }
            input[idsAt + i] = i < n ? ids[i] : 0;
            for (int h = 0; h < heads; h++) {
                input[ropeAt + i * heads + h] = 2L * pos + (h < qk ? 0 : 1);
            }
        }
    }

    /** Elements [from, to) of a float input tensor as int64 ids on the device. */
    static PtNDArray asIds(PtNDArray input, long from, long to, ai.djl.Device device) {
        return Torch.to(Torch.slice(input, 0, from, to), DataType.INT64, device);
    }

    /** The step's additive mask [n, cached + n]: the past open to all, the tree part from the step's input. */
    private PtNDArray mask(PtNDArray input, long from, long to, int n) {
        PtNDArray tree = Torch.to(Torch.reshape(Torch.slice(input, 0, from, to), new long[] {n, n}),
                model.dtype, model.device);
        PtNDArray zeroRows = Torch.slice(zeros, 0, 0, n);
        zeroRows.attach(step); // a view of a session tensor, made the step's so that it goes with the step
        PtNDArray past = Torch.slice(zeroRows, 1, 0, cached);
        return Torch.cat(new PtNDArray[] {past, tree}, 1);
    }

    /** Closes the previous step's temporaries and opens a scope for this one's. */
    private void newStep() {
        if (step != null) {
            step.close();
        }
        releasePass();
        logits = null;
        pending = null;
        batchPending = null;
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

    /** Records the kept rows' moves; the next pass makes them (see {@link RowMoves}). */
    @Override
    public void commit(int[] path, int count) {
        checkOpen();
        if (count > lastSize) {
            throw new IllegalArgumentException("path of " + count + " nodes, but the last tree had " + lastSize);
        }
        for (int i = 0; i < count; i++) {
            int src = cached + path[i];
            int dst = cached + i;
            if (src != dst) {
                moves.add(src, dst);
            }
        }
        cached += count;
        lastSize = 0;
    }

    /**
     * Before a graph's step: makes the pending moves eagerly unless the graph is {@code captured} and takes them all.
     * A capture runs its step twice, and a second move would read rows the first overwrote.
     */
    void moveBefore(boolean captured) {
        if (!captured || !moves.fitGraph()) {
            moveNow();
        }
    }

    /** Makes the pending moves now, eagerly: before an eager pass, and see {@link #moveBefore}. */
    void moveNow() {
        try {
            kv.move(moves);
        } catch (EngineException e) {
            throw DeviceMemory.translate(e, "moving " + moves.count() + " accepted rows of the KV cache",
                    model.device);
        }
    }

    /** Waits for a replayed step's argmaxes, which the device may still be computing. */
    @Override
    public void await() {
        if (pending != null) {
            GraphBuckets.Bucket b = pending;
            pending = null;
            graphed.argmax(b, argmax, lastSize);
        } else if (batchPending != null) {
            BatchedSteps.Argmaxes a = batchPending;
            batchPending = null;
            a.copy(logitsRow, argmax, lastSize);
        }
    }

    @Override
    public int argmax(int node) {
        checkNode(node);
        await();
        return argmax[node];
    }

    @Override
    public void logits(int node, float[] out) {
        checkNode(node);
        await();
        int at = logitsRow + node;
        PtNDArray row = Torch.index(logits, new long[] {at, 0}, new long[] {at + 1, model.vocabSize()},
                (PtNDManager) step);
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

    private void releasePass() {
        if (pass != null) {
            pass.release();
            pass = null;
        }
    }

    private void giveBack() {
        if (graphed != null) {
            pool.giveBack(graphed);
        }
        if (slots != null) {
            slots.giveBack(slot);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            releasePass();
            if (manager != null) {
                manager.close();
            }
            if (kv != null && graphed == null) {
                kv.close(); // its own cache, or the views of its slot
            }
            giveBack();
        }
    }
}
