package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.aded.core.DraftTree;
import it.unimi.dsi.fastutil.ints.IntRBTreeSet;
import it.unimi.dsi.fastutil.ints.IntSortedSet;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One forward pass over the trees of several sessions of a batch ({@link KvSlots}): each sequence's nodes sit at
 * their own positions, write their keys and values into their own slot, and attend to their own past and to
 * their ancestors in their own tree. Row-wise operations (projections, MLP, head: nearly all the arithmetic) run over
 * the pass's rows; attention reads the keys one of two ways, whichever moves fewer bytes ({@link #inPlace}). In
 * place, it runs over every slot at once, read as one strided batch ([kv heads, slots, keys, head dim], a view), each
 * slot's queries being its sequence's nodes or, for a slot outside the pass, any rows, masked and left unread.
 * Gathered, it copies its sequences' keys, B sequences of past and tree, on every layer: a copy, which cost a
 * 7B-shape pass of 16 sequences three times one sequence's, but no reads of idle slots. With the helper's
 * tree-attention kernel ({@link LlamaModel#treeKernel}) a third way replaces both: by slot, the kernel reads each of
 * the B sequences' slots where it is, told which by a table, so neither idle slots nor a copy. Eager on the CPU; on
 * a GPU with the graph helper, replayed as CUDA graphs bucketed by (sequences, nodes, keys, way), as vLLM captures
 * decode per batch size.
 *
 * <p>The step's input, one float tensor: token ids [R], RoPE rows [R·heads], rows to write [R], row moves of the last
 * commits [B·2·M] (graphs only), the cache rows each sequence attends to [B·K] (gathered only) or each sequence's slot
 * [B] and then where its open keys [B] and real tokens [B] end and its past [B] (by slot only), each attention
 * sequence's past length [A], each tree's attention sequence [B], the attention column of each of its columns [B·N],
 * the tree rows [N], the tree masks as each node's ancestor bits, a byte to 8 nodes [B·N·⌈N/8⌉], then, where the pass's
 * rows are not the attention's (in place, or packed), the pass row of each attention row [A·N] and the attention row of
 * each pass row [R]. Attention has A sequences of N rows and K keys: in place, S slots and the spare slot (whose first
 * row padding nodes write to), each slot's first K rows; gathered, the B sequences, each a past of P keys and its
 * tree's N rows; by slot, the B sequences, each its slot's first K rows. A graph's R is B·N, padding sequences
 * included, or packed, the real nodes rounded up to a power of two; the eager pass packs its rows down to the real
 * nodes where it has any to leave out.
 */
final class BatchedSteps implements AutoCloseable {
    private final LlamaModel model;
    private final KvSlots slots;
    private final GraphPool pool;
    private final GraphBuckets graphs;
    private final NDManager manager;
    private float[] input = new float[0];
    /** The last pass's argmaxes: fetched, if nobody has yet, before the next pass can overwrite them. */
    private Argmaxes last;
    private int[] ids = new int[0];
    private int[] depths = new int[0];
    /** Whether eager passes take the graphs' layout: see {@link #layOutLikeGraphs}. */
    private boolean graphLayouts;
    /** Whether passes attend by slot on a model without the kernel: see {@link #attendBySlot}. */
    private boolean bySlot;

    /** @param pool the model's graph pool, or null to run eagerly */
    BatchedSteps(LlamaModel model, KvSlots slots, GraphPool pool) {
        this.model = model;
        this.slots = slots;
        this.pool = pool;
        this.manager = slots.kv.manager.newSubManager();
        this.graphs = pool == null ? null : new GraphBuckets(pool, manager);
    }

    /**
     * Lays eager passes out as graphs lay theirs (buckets, padding sequences, padded or packed rows), so that a
     * CPU, which has no graphs, can check that layout against single sessions.
     */
    void layOutLikeGraphs() {
        graphLayouts = true;
    }

    /**
     * Lays passes out by slot, as the tree-attention kernel reads them, on a model without it (whose operators then
     * gather each sequence's slot), so that a CPU can check that layout against single sessions.
     */
    void attendBySlot() {
        bySlot = true;
    }

    /** Whether passes attend by slot: the B sequences' slots read in place by the tree-attention kernel. */
    private boolean bySlot() {
        return bySlot || model.treeKernel();
    }

    /** Graphs captured so far. */
    int graphs() {
        return graphs == null ? 0 : graphs.size();
    }

    /** Verifies {@code trees[i]} on {@code sessions[i]} for i below {@code count}, all in one pass. */
    void forward(LlamaSession[] sessions, DraftTree[] trees, int count) {
        int maxNodes = 1;
        int maxPast = 1;
        int maxKeys = 1;
        for (int i = 0; i < count; i++) {
            sessions[i].requireRoom(trees[i].size());
            maxNodes = Math.max(maxNodes, trees[i].size());
            maxPast = Math.max(maxPast, sessions[i].cachedLength());
            maxKeys = Math.max(maxKeys, sessions[i].cachedLength() + trees[i].size());
        }
        boolean graphed = graphs != null && pool.usable() && maxNodes <= GraphedSteps.MAX_NODES;
        Layout layout = graphed || graphLayouts ? graphLayout(trees, count, maxNodes, maxPast, maxKeys)
                : packed(trees, count, maxNodes, maxPast, maxKeys);
        if (last != null) {
            last.fetch();
        }
        PtNDArray logits = null;
        Pass pass = null;
        Argmaxes argmaxes = null;
        int handed = 0;
        try {
            if (graphed) {
                boolean captured = graphs.has(layout.key());
                for (int i = 0; i < count; i++) {
                    sessions[i].moveBefore(captured);
                }
                GraphBuckets.Bucket replayed = replay(encode(sessions, trees, count, layout), layout);
                if (replayed == null) {
                    layout = packed(trees, count, maxNodes, maxPast, maxKeys);
                } else {
                    logits = replayed.logits();
                    argmaxes = new Argmaxes(replayed, new int[layout.rows]);
                    for (int i = 0; i < count; i++) {
                        sessions[i].moves.clear();
                    }
                }
            }
            if (logits == null) {
                for (int i = 0; i < count; i++) {
                    sessions[i].moveNow();
                }
                pass = new Pass(manager.newSubManager(), count);
                PtNDArray[] out = eager(encode(sessions, trees, count, layout), layout, pass.scope);
                logits = out[0];
                int[] values = new int[layout.rows];
                Torch.copyInts(out[1], values);
                argmaxes = new Argmaxes(null, values);
            }
            last = argmaxes;
            int row = 0;
            for (int i = 0; i < count; i++) {
                sessions[i].batched(logits, layout.packed ? row : i * layout.nodes, argmaxes, trees[i].size(), pass);
                handed++;
                row += trees[i].size();
            }
        } catch (EngineException e) {
            throw DeviceMemory.translate(e, "a forward pass over " + count + " trees of up to " + maxNodes
                    + " nodes", model.device);
        } finally {
            // The sessions that did not take the pass (all of them when it failed) are no readers of it.
            for (int i = handed; pass != null && i < count; i++) {
                pass.release();
            }
        }
    }

    /**
     * An eager pass's tensors (its logits above all), shared by the sessions of its batch: they go when the last of
     * them moves on to its next step or closes, so that nothing of a pass outlives the generations that read it.
     */
    static final class Pass {
        final NDManager scope;
        private final AtomicInteger readers;

        Pass(NDManager scope, int readers) {
            this.scope = scope;
            this.readers = new AtomicInteger(readers);
        }

        /** One reader is done with the pass; the last closes it. */
        void release() {
            if (readers.decrementAndGet() == 0) {
                scope.close();
            }
        }
    }

    /**
     * Whether a pass of {@code count} sequences of up to {@code nodes} nodes reads every slot in place rather than
     * gathering its own keys: when the idle slots' reads cost less than the gather, in bytes per kv head and key. A
     * gather copies a sequence's keys and values and ran at a tenth of the GPU's bandwidth (0.9 ms a 7B-shape
     * sequence at 512 tokens, 269 MB); in place, each idle slot's keys and values are read once and its rows' scores
     * (g·N of them per kv head and key) pass through the mask and the softmax too. On an H100 (2026-12-07), 16
     * streams of the 7B shape in a batch of 64 slots (10 to 11 trees a pass of some 17 nodes) passed in 21.6 ms in
     * place against 27.7-31.7 ms gathered, while 16 code-15m streams (13.7 trees of some 39 nodes; 2 kv heads of 64
     * dimensions, 3 query heads each) passed in 2.45 ms in place against 1.78-1.81 gathered: its keys are few and
     * its scores many.
     */
    private boolean inPlace(int count, int nodes) {
        LlamaConfig c = model.config;
        return readsInPlace(count, slots.slots, nodes, c.headDim(), c.groupSize(), model.dtype.getNumOfBytes());
    }

    /** Gathering a sequence's keys and values costs this many times their bytes (see {@link #inPlace}). */
    static final double GATHER_COST = 10;
    /**
     * Bytes moved per attention score in place, an estimate: an f16 score is written, masked, read by the softmax
     * and its output read by the product with the values.
     */
    static final double SCORE_BYTES = 8;

    /** {@link #inPlace} for a model of these dimensions and a batch of {@code slots} slots. */
    static boolean readsInPlace(int count, int slots, int nodes, int headDim, int group, int dtypeBytes) {
        double kv = 2.0 * headDim * dtypeBytes;
        double idle = (slots + 1 - count) * (kv + (double) group * nodes * SCORE_BYTES);
        return idle <= count * GATHER_COST * kv;
    }

    /**
     * A pass's shape: B sequences of up to {@code nodes} nodes; attention over A sequences ({@code attention}) of
     * {@code keys} keys, the first {@code past} of them a gathered sequence's past (0 in place); {@code rows} rows
     * through the row-wise operations, B·nodes, or the real nodes alone when {@code packed}; {@code moves} row moves
     * of each sequence's last commit (see {@link RowMoves}), none in an eager pass.
     */
    private record Layout(boolean inPlace, boolean bySlot, int b, int nodes, int past, int keys, boolean packed,
            int rows, int moves, int attention) {
        /** The graph bucket of this shape. */
        long key() {
            return (inPlace ? 1L << 62 : 0) | (bySlot ? 1L << 61 : 0) | ((long) (packed ? rows : 0) << 48)
                    | ((long) b << 40) | ((long) nodes << 24) | keys;
        }

        /** Whether each sequence's keys are its past and then its tree, each tree's first key at its past length. */
        boolean treeAfterPast() {
            return inPlace || bySlot;
        }

        /** Whether the pass's rows map to the attention's through index lists, not one to one. */
        boolean mapped() {
            return inPlace || packed;
        }

        int attentionRows() {
            return attention * nodes;
        }

        /** Where the input's parts start (the class comment lists them), for a model of {@code heads} q/k/v heads. */
        int writeAt(int heads) {
            return rows * (1 + heads);
        }

        int movesAt(int heads) {
            return writeAt(heads) + rows;
        }

        int keysAt(int heads) {
            return movesAt(heads) + 2 * b * moves;
        }

        /** By slot, each sequence's slot, then its {@link LlamaModel.Keys#bounds}: open keys, real tokens, past. */
        int boundsAt(int heads) {
            return keysAt(heads) + b;
        }

        int lengthsAt(int heads) {
            return keysAt(heads) + (inPlace ? 0 : bySlot ? 4 * b : b * keys);
        }

        /**
         * Past lengths the input gives: one per attention sequence or, by slot, one per attention row, so that the
         * rows past a tree's nodes see the first key alone and the kernel skips their keys where a block holds
         * nothing else (trees differ in size, and a pass's bucket holds its largest).
         */
        int pastLengths() {
            return bySlot ? attention * nodes : attention;
        }

        int treeSequencesAt(int heads) {
            return lengthsAt(heads) + pastLengths();
        }

        int treeColumnsAt(int heads) {
            return treeSequencesAt(heads) + b;
        }

        int treeRowsAt(int heads) {
            return treeColumnsAt(heads) + b * nodes;
        }

        int treeAt(int heads) {
            return treeRowsAt(heads) + nodes;
        }

        /** Bytes of ancestor bits a node's mask row takes. */
        int maskBytes() {
            return (nodes + 7) / 8;
        }

        int toAttentionAt(int heads) {
            return treeAt(heads) + b * nodes * maskBytes();
        }

        int fromAttentionAt(int heads) {
            return toAttentionAt(heads) + attentionRows();
        }

        int size(int heads) {
            return mapped() ? fromAttentionAt(heads) + rows : toAttentionAt(heads);
        }
    }

    /**
     * A graph bucket's shape: sequences, nodes and keys rounded up, so that few shapes need a capture each. Its rows
     * are packed, the real nodes rounded up to a power of two, when that is fewer than every sequence padded to the
     * largest tree: the trees of many generations differ (one long chain beside many short ones), and padded, a
     * 7B-shape pass of 16 sequences ran 1,024 rows through the weights for some 100 nodes, compute-bound at twice a
     * weight-bound pass's time.
     */
    private Layout graphLayout(DraftTree[] trees, int count, int maxNodes, int maxPast, int maxKeys) {
        int b = batchBucket(count);
        int nodes = GraphedSteps.ceilPow2(maxNodes);
        int packedRows = GraphedSteps.ceilPow2(realRows(trees, count));
        boolean packed = packedRows < b * nodes;
        int rows = packed ? packedRows : b * nodes;
        int keys = keyBucket(maxKeys, slots.slotRows);
        if (bySlot()) {
            return new Layout(false, true, b, nodes, 0, keys, packed, rows, RowMoves.MAX, b);
        }
        if (inPlace(count, nodes)) {
            return new Layout(true, false, b, nodes, 0, keys, packed, rows, RowMoves.MAX, slots.slots + 1);
        }
        int past = keyBucket(maxPast, slots.slotRows);
        return new Layout(false, false, b, nodes, past, past + nodes, packed, rows, RowMoves.MAX, b);
    }

    /**
     * The keys a graph bucket holds for {@code keys}: a power of two, at least {@link GraphedSteps#MIN_KEYS}, at most
     * a slot.
     */
    static int keyBucket(int keys, int slotRows) {
        return Math.min(slotRows, Math.max(GraphedSteps.MIN_KEYS, GraphedSteps.ceilPow2(keys)));
    }

    /**
     * The steps that take a lone session in a slot through every graph bucket that its trees of up to
     * {@code maxNodes} nodes meet in a session of up to {@code maxTokens} tokens: for each node bucket (a power of
     * two), a chain of its fewest nodes (which leaves the most room for a past), after each cached length at the
     * upper end of a bucket of keys (past and tree, as by slot and in place) or of past keys alone (gathered).
     * Pairs {chain nodes, cached tokens}, by cached tokens ascending, so that one session grows through them all.
     */
    static List<int[]> loneSteps(int maxNodes, int maxTokens, int slotRows) {
        List<int[]> steps = new ArrayList<>();
        int top = Math.min(GraphedSteps.ceilPow2(maxNodes), GraphedSteps.MAX_NODES);
        for (int bucket = 1; bucket <= top && bucket / 2 < maxTokens; bucket *= 2) {
            int nodes = bucket / 2 + 1;
            int last = maxTokens - nodes;
            IntSortedSet cached = new IntRBTreeSet();
            cached.add(last);
            for (int v = GraphedSteps.MIN_KEYS; v / 2 < Math.min(maxTokens, slotRows); v *= 2) {
                cached.add(Math.min(Math.max(0, v - nodes), last));
                cached.add(Math.min(v, last));
            }
            for (int c : cached) {
                steps.add(new int[] {nodes, c});
            }
        }
        steps.sort(Comparator.comparingInt(step -> step[1]));
        return steps;
    }

    private static int realRows(DraftTree[] trees, int count) {
        int rows = 0;
        for (int i = 0; i < count; i++) {
            rows += trees[i].size();
        }
        return rows;
    }

    /**
     * The eager pass's shape: no more sequences, nodes or keys than the batch has, its rows the real nodes alone. A
     * gathered pass packs them only when its trees differ in size: the packing's two lookups a layer would otherwise
     * map every row to itself (plain decoding's single nodes above all).
     */
    private Layout packed(DraftTree[] trees, int count, int maxNodes, int maxPast, int maxKeys) {
        int rows = realRows(trees, count);
        if (bySlot()) {
            return new Layout(false, true, count, maxNodes, 0, maxKeys, rows < count * maxNodes, rows, 0, count);
        }
        return inPlace(count, maxNodes)
                ? new Layout(true, false, count, maxNodes, 0, maxKeys, true, rows, 0, slots.slots + 1)
                : new Layout(false, false, count, maxNodes, maxPast, maxPast + maxNodes, rows < count * maxNodes,
                        rows, 0, count);
    }

    /**
     * The pass as a graph replay, still running on the device; null when a capture fails (logged once), and the pass
     * then runs eagerly.
     */
    private GraphBuckets.Bucket replay(int size, Layout l) {
        try {
            return graphs.run(l.key(), input, size, (in, scope) -> pass(in, l, scope));
        } catch (CudaGraphs.GraphException | EngineException e) {
            pool.failed(e);
            return null;
        }
    }

    /** The eager pass: its logits and their argmaxes [rows]. */
    private PtNDArray[] eager(int size, Layout l, NDManager scope) {
        // Thread-local in PyTorch: set on the thread that runs the step.
        Torch.noGrad();
        PtNDArray in = (PtNDArray) scope.create(FloatBuffer.wrap(input, 0, size), new Shape(size));
        return pass(in, l, scope);
    }

    /**
     * A pass's argmaxes, one per row. A replay's are fetched from the device once, when its first session awaits
     * them: the device is not waited for until then, so that the leader of a pass catches up on its own
     * generation's text and learning while the device computes, as a lone session's replay lets it.
     */
    final class Argmaxes {
        /** The replay whose argmaxes are still on the device; null once fetched (an eager pass's: from the start). */
        private GraphBuckets.Bucket replay;
        private final int[] values;
        /** Why the fetch failed: the pass's sessions each see it. */
        private RuntimeException failure;

        Argmaxes(GraphBuckets.Bucket replay, int[] values) {
            this.replay = replay;
            this.values = values;
        }

        /** Waits for the pass and brings its argmaxes to the host unless done before; a failure is kept. */
        synchronized void fetch() {
            if (replay != null) {
                try {
                    graphs.argmax(replay, values, values.length);
                } catch (RuntimeException e) {
                    failure = e;
                }
                replay = null;
            }
        }

        /** Rows {@code [row, row + n)} into {@code out}, fetched first if need be. */
        void copy(int row, int[] out, int n) {
            fetch();
            if (failure != null) {
                throw failure;
            }
            System.arraycopy(values, row, out, 0, n);
        }
    }

    /** The batch's input, laid out as the class comment says; returns its length. */
    private int encode(LlamaSession[] sessions, DraftTree[] trees, int count, Layout l) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        int b = l.b;
        int nodes = l.nodes;
        int n = l.rows;
        int writeAt = l.writeAt(heads);
        int movesAt = l.movesAt(heads);
        int keysAt = l.keysAt(heads);
        int boundsAt = l.boundsAt(heads);
        int lengthsAt = l.lengthsAt(heads);
        int treeSequencesAt = l.treeSequencesAt(heads);
        int treeColumnsAt = l.treeColumnsAt(heads);
        int treeRowsAt = l.treeRowsAt(heads);
        int treeAt = l.treeAt(heads);
        int toAttentionAt = l.toAttentionAt(heads);
        int fromAttentionAt = l.fromAttentionAt(heads);
        int size = l.size(heads);
        if (input.length < size) {
            input = new float[size];
        }
        if (ids.length < nodes) {
            ids = new int[nodes];
            depths = new int[nodes];
        }
        // In place, a slot outside the pass opens its first key, so that its rows' softmax has something to weigh;
        // their queries are any row's (row 0), and nothing reads their output. By slot, so do padding sequences
        // and the padding rows of each tree.
        Arrays.fill(input, lengthsAt, lengthsAt + l.pastLengths(), 1f);
        if (l.mapped()) {
            Arrays.fill(input, toAttentionAt, toAttentionAt + l.attentionRows(), 0f);
        }
        for (int i = 0; i < nodes; i++) {
            input[treeRowsAt + i] = i;
        }
        int first = 0; // the sequence's first row
        for (int s = 0; s < b; s++) {
            boolean real = s < count;
            DraftTree tree = real ? trees[s] : null;
            int size0 = real ? tree.size() : 0;
            int cached = real ? sessions[s].cachedLength() : 0;
            int slot = real ? sessions[s].slot() : slots.slots; // padding sequences: the spare slot
            int base = slot * slots.slotRows;
            int seq = l.inPlace ? slot : s; // the sequence's attention sequence
            int treeColumn = l.treeAfterPast() ? cached : l.past; // where its tree's keys start among its keys
            int rowsOfIt = l.packed ? size0 : nodes;
            if (real) {
                tree.copyTokens(ids);
                tree.copyDepths(depths);
            }
            if (l.bySlot) {
                Arrays.fill(input, lengthsAt + seq * nodes, lengthsAt + seq * nodes + size0, cached);
            } else {
                input[lengthsAt + seq] = cached;
            }
            LlamaSession.encodeTokens(input, first, n + first * heads, ids, depths, size0, rowsOfIt, cached, c);
            input[treeSequencesAt + s] = seq;
            if (l.bySlot) {
                input[keysAt + s] = slot;
                // A padding sequence's rows open their first key, as its tree's padding rows do; it has no tokens.
                input[boundsAt + s] = real ? cached + size0 : 1;
                input[boundsAt + b + s] = size0;
                input[boundsAt + 2 * b + s] = cached;
            }
            for (int j = 0; j < l.past; j++) {
                input[keysAt + s * l.keys + j] = real ? base + j : slots.spareRow;
            }
            for (int i = 0; i < nodes; i++) {
                int row = i < size0 ? base + cached + i : slots.spareRow;
                // In place, columns past the keys (padding columns alone reach them, closed anyway) go to the
                // mask's last column, which attention leaves out.
                input[treeColumnsAt + s * nodes + i] = Math.min(treeColumn + i, l.keys);
                if (!l.treeAfterPast()) {
                    input[keysAt + s * l.keys + l.past + i] = row;
                }
                writeAncestorBytes(i < size0 ? tree : null, !l.bySlot, i, input,
                        treeAt + (s * nodes + i) * l.maskBytes(), l.maskBytes());
                if (i < rowsOfIt) {
                    input[writeAt + first + i] = row;
                    if (l.mapped()) {
                        input[fromAttentionAt + first + i] = seq * nodes + i;
                    }
                }
                if (real && l.mapped()) {
                    input[toAttentionAt + seq * nodes + i] = first + (i < rowsOfIt ? i : 0);
                }
            }
            if (l.moves > 0) {
                int at = movesAt + 2 * s * l.moves;
                if (real) {
                    sessions[s].moves.encode(input, at, l.moves, base, slots.spareRow);
                } else {
                    java.util.Arrays.fill(input, at, at + 2 * l.moves, slots.spareRow);
                }
            }
            first += rowsOfIt;
        }
        // A packed graph's rows past the real nodes (only a packed layout has any): token 0 at position 0, written
        // to the spare row, unread.
        LlamaSession.encodeTokens(input, first, n + first * heads, ids, depths, 0, n - first, 0, c);
        for (int r = first; r < n; r++) {
            input[writeAt + r] = slots.spareRow;
            input[fromAttentionAt + r] = 0;
        }
        return size;
    }

    /**
     * Node {@code node}'s mask row as the bits of its ancestors and itself, 8 nodes a byte, into {@code out[at, at +
     * bytes)}; a padding node ({@code tree} null) sees its tree's root, or none of it unless {@code rootOfPadding}.
     */
    private static void writeAncestorBytes(DraftTree tree, boolean rootOfPadding, int node, float[] out, int at,
            int bytes) {
        for (int k = 0; k < bytes; k++) {
            long word = tree == null ? (rootOfPadding ? 1L : 0L) : tree.ancestorWord(node, k >>> 3);
            out[at + k] = (int) (word >>> ((k & 7) * 8)) & 0xFF;
        }
    }

    /** The pass over a batch's input: what both the eager step and the captured graph run. */
    private PtNDArray[] pass(PtNDArray in, Layout l, NDManager scope) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        long n = l.rows;
        ai.djl.Device device = model.device;
        PtNDArray all = Torch.slice(in, 0, 0, in.getShape().get(0));
        all.attach(scope);
        PtNDArray tokens = LlamaSession.asIds(all, 0, n, device);
        PtNDArray rope = Torch.reshape(LlamaSession.asIds(all, n, l.writeAt(heads), device), new long[] {n, heads});
        PtNDArray writeRows = LlamaSession.asIds(all, l.writeAt(heads), l.movesAt(heads), device);
        if (l.moves > 0) {
            slots.kv.move(LlamaSession.asIds(all, l.movesAt(heads), l.keysAt(heads), device), l.b, l.moves,
                    (PtNDManager) scope);
        }
        LlamaModel.Packing toAttention = !l.mapped() ? null : new LlamaModel.Packing(
                LlamaSession.asIds(all, l.toAttentionAt(heads), l.fromAttentionAt(heads), device),
                LlamaSession.asIds(all, l.fromAttentionAt(heads), l.size(heads), device), l.attentionRows());
        LlamaModel.Keys keys;
        if (l.inPlace) {
            keys = LlamaModel.Keys.slots(l.attention, slots.slotRows, l.keys, c, toAttention);
        } else if (l.bySlot) {
            keys = LlamaModel.Keys.bySlot(LlamaSession.asIds(all, l.keysAt(heads), l.boundsAt(heads), device),
                    LlamaSession.asIds(all, l.boundsAt(heads), l.lengthsAt(heads), device), l.b, slots.slots + 1,
                    slots.slotRows, l.keys, c, toAttention);
        } else {
            PtNDArray keyRows = Torch.reshape(LlamaSession.asIds(all, l.keysAt(heads), l.lengthsAt(heads), device),
                    new long[] {1, (long) l.b * l.keys});
            PtNDArray headRows = Torch.reshape(Torch.add(keyRows, slots.headOffsets), new long[] {-1});
            keys = LlamaModel.Keys.gathered(headRows, l.b, l.keys, slots.kv.rows, c, toAttention);
        }
        PtNDArray logits = model.pass(tokens, rope, mask(all, l, heads), slots.kv,
                LlamaModel.CacheWrite.rows(writeRows), keys, (int) n, true);
        return new PtNDArray[] {logits, Torch.argmaxLast(logits)};
    }

    /**
     * The attention's additive mask [A, N, K]: each attention sequence's past open (a slot outside the pass: its
     * first key; by slot, each row's, padding rows their first key), then each tree's mask put at its sequence's rows
     * and its tree's columns, in one indexed write. The mask is one column wider than the keys until then, so that
     * columns past them have somewhere to go.
     */
    private PtNDArray mask(PtNDArray all, Layout l, int heads) {
        ai.djl.Device device = model.device;
        PtNDArray lengths = LlamaSession.asIds(all, l.lengthsAt(heads), l.treeSequencesAt(heads), device);
        // [A, K + 1], or [A·N, K + 1] by slot
        PtNDArray past = Torch.slice(Torch.embedding(lengths, slots.pastMasks), 1, 0, l.keys + 1L);
        PtNDArray mask = l.bySlot ? Torch.reshape(past, new long[] {l.attention, l.nodes, l.keys + 1L})
                : Torch.tile(Torch.reshape(past, new long[] {l.attention, 1, l.keys + 1L}), new long[] {1, l.nodes, 1});
        PtNDArray sequences = Torch.reshape(
                LlamaSession.asIds(all, l.treeSequencesAt(heads), l.treeColumnsAt(heads), device),
                new long[] {l.b, 1, 1});
        PtNDArray columns = Torch.reshape(
                LlamaSession.asIds(all, l.treeColumnsAt(heads), l.treeRowsAt(heads), device),
                new long[] {l.b, 1, l.nodes});
        PtNDArray rows = Torch.reshape(LlamaSession.asIds(all, l.treeRowsAt(heads), l.treeAt(heads), device),
                new long[] {1, l.nodes, 1});
        PtNDArray bits = LlamaSession.asIds(all, l.treeAt(heads), l.toAttentionAt(heads), device);
        PtNDArray tree = Torch.slice(Torch.reshape(Torch.embedding(bits, slots.byteMasks),
                new long[] {l.b, l.nodes, 8L * l.maskBytes()}), 2, 0, l.nodes);
        Torch.put(mask, new NDIndex("{}, {}, {}", sequences, rows, columns), tree);
        return Torch.slice(mask, 2, 0, l.keys);
    }

    /**
     * Sequences a graph bucket holds: powers of two. Padding costs whole sequences, but each bucket costs a capture
     * (tens of milliseconds) the first time a batch of its shape runs, and a pass grows slowly with its sequences.
     */
    static int batchBucket(int count) {
        return GraphedSteps.ceilPow2(count);
    }

    @Override
    public void close() {
        if (graphs != null) {
            graphs.close();
        }
        manager.close();
    }
}
