package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.aded.core.DraftTree;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One forward pass over the trees of several sessions of a batch ({@link KvSlots}): each sequence's nodes sit at
 * their own positions, write their keys and values into their own slot, and attend to their own past and to
 * their ancestors in their own tree. Sequences are padded to one node count, so the pass is B sequences of
 * {@code nodes} nodes; each attends to {@code past} keys gathered from its slot (closed past its length) followed
 * by its tree's rows (the tree's own mask). Eager on the CPU; on a GPU with the graph helper, replayed as CUDA graphs
 * bucketed by (sequences, nodes, past keys), as vLLM captures decode per batch size.
 *
 * <p>The step's input, one float tensor: token ids [R], RoPE rows [R·heads], rows to write [R], row moves of the
 * last commits [B·2·M] (graphs only), rows to attend [B·(P + N)], past lengths [B], tree masks [B·N·N], where
 * R = B·N rows. Padding nodes (and padding sequences of a graph bucket) write to the spare row and attend to
 * themselves only. The eager pass packs its rows instead ({@link LlamaModel.Packing}): R is the real nodes alone,
 * and two more index lists map them to the attention's B·N rows [B·N] and back [R].
 */
final class BatchedSteps implements AutoCloseable {
    private final LlamaModel model;
    private final KvSlots slots;
    private final GraphPool pool;
    private final GraphBuckets graphs;
    private final NDManager manager;
    private float[] input = new float[0];
    private int[] argmax = new int[0];
    private int[] ids = new int[0];
    private int[] depths = new int[0];

    /** @param pool the model's graph pool, or null to run eagerly */
    BatchedSteps(LlamaModel model, KvSlots slots, GraphPool pool) {
        this.model = model;
        this.slots = slots;
        this.pool = pool;
        this.manager = slots.kv.manager.newSubManager();
        this.graphs = pool == null ? null : new GraphBuckets(pool, manager);
    }

    /** Graphs captured so far. */
    int graphs() {
        return graphs == null ? 0 : graphs.size();
    }

    /** Verifies {@code trees[i]} on {@code sessions[i]} for i below {@code count}, all in one pass. */
    void forward(LlamaSession[] sessions, DraftTree[] trees, int count) {
        int maxNodes = 1;
        int maxPast = 1;
        for (int i = 0; i < count; i++) {
            sessions[i].requireRoom(trees[i].size());
            maxNodes = Math.max(maxNodes, trees[i].size());
            maxPast = Math.max(maxPast, sessions[i].cachedLength());
        }
        boolean graphed = graphs != null && pool.usable() && maxNodes <= GraphedSteps.MAX_NODES;
        Layout layout = graphed
                ? new Layout(batchBucket(count), GraphedSteps.ceilPow2(maxNodes),
                        Math.min(slots.slotRows, Math.max(GraphedSteps.MIN_KEYS, GraphedSteps.ceilPow2(maxPast))),
                        false, batchBucket(count) * GraphedSteps.ceilPow2(maxNodes), RowMoves.MAX)
                : packed(trees, count, maxNodes, maxPast);
        PtNDArray logits = null;
        Pass pass = null;
        int handed = 0;
        try {
            if (graphed) {
                boolean captured = graphs.has(layout.key());
                for (int i = 0; i < count; i++) {
                    sessions[i].moveBefore(captured);
                }
                logits = replay(encode(sessions, trees, count, layout), layout);
                if (logits == null) {
                    layout = packed(trees, count, maxNodes, maxPast);
                } else {
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
                logits = eager(encode(sessions, trees, count, layout), layout, pass.scope);
            }
            int row = 0;
            for (int i = 0; i < count; i++) {
                sessions[i].batched(logits, layout.packed ? row : i * layout.nodes, argmax, trees[i].size(), pass);
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
     * A pass's shape: B sequences of {@code nodes} nodes attending to {@code past} keys of their own and their tree;
     * {@code rows} rows through the row-wise operations, B·nodes, or the real nodes alone when {@code packed};
     * {@code moves} row moves of each sequence's last commit (see {@link RowMoves}), none in an eager pass.
     */
    private record Layout(int b, int nodes, int past, boolean packed, int rows, int moves) {
        /** The graph bucket of this shape. */
        long key() {
            return ((long) b << 40) | ((long) nodes << 24) | past;
        }

        /** Keys each sequence attends to: its past, then its tree's rows. */
        int keys() {
            return past + nodes;
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

        int pastAt(int heads) {
            return keysAt(heads) + b * keys();
        }

        int treeAt(int heads) {
            return pastAt(heads) + b;
        }

        int padAt(int heads) {
            return treeAt(heads) + b * nodes * nodes;
        }

        int size(int heads) {
            return packed ? padAt(heads) + b * nodes + rows : padAt(heads);
        }
    }

    /**
     * The eager pass's shape: no more sequences, nodes or keys than the batch has, and its nodes packed when its trees
     * differ in size (packing costs two gathers a layer, for nothing when there is no padding to leave out).
     */
    private static Layout packed(DraftTree[] trees, int count, int maxNodes, int maxPast) {
        int rows = 0;
        for (int i = 0; i < count; i++) {
            rows += trees[i].size();
        }
        return new Layout(count, maxNodes, maxPast, rows < count * maxNodes, rows, 0);
    }

    /** The pass as a graph replay; null when a capture fails (logged once), and the pass then runs eagerly. */
    private PtNDArray replay(int size, Layout l) {
        try {
            GraphBuckets.Bucket b = graphs.run(l.key(), input, size, (in, scope) -> pass(in, l, scope));
            graphs.argmax(b, argmax, l.rows);
            return b.logits();
        } catch (CudaGraphs.GraphException | EngineException e) {
            pool.failed(e);
            return null;
        }
    }

    private PtNDArray eager(int size, Layout l, NDManager scope) {
        // Thread-local in PyTorch: set on the thread that runs the step.
        Torch.noGrad();
        PtNDArray in = (PtNDArray) scope.create(FloatBuffer.wrap(input, 0, size), new Shape(size));
        PtNDArray[] out = pass(in, l, scope);
        Torch.copyInts(out[1], argmax);
        return out[0];
    }

    /** The batch's input, laid out as the class comment says; returns its length. */
    private int encode(LlamaSession[] sessions, DraftTree[] trees, int count, Layout l) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        int b = l.b;
        int nodes = l.nodes;
        int past = l.past;
        int n = l.rows;
        int keys = l.keys();
        int writeAt = l.writeAt(heads);
        int movesAt = l.movesAt(heads);
        int keysAt = l.keysAt(heads);
        int pastAt = l.pastAt(heads);
        int treeAt = l.treeAt(heads);
        int padAt = l.padAt(heads);
        int size = l.size(heads);
        if (input.length < size) {
            input = new float[size];
        }
        if (argmax.length < n) {
            argmax = new int[Math.max(n, 2 * argmax.length)];
        }
        if (ids.length < nodes) {
            ids = new int[nodes];
            depths = new int[nodes];
        }
        Arrays.fill(input, treeAt, padAt, Float.NEGATIVE_INFINITY);
        int first = 0; // the sequence's first row
        for (int s = 0; s < b; s++) {
            boolean real = s < count;
            DraftTree tree = real ? trees[s] : null;
            int size0 = real ? tree.size() : 0;
            int cached = real ? sessions[s].cachedLength() : 0;
            int base = real ? sessions[s].slot() * slots.slotRows : 0;
            int rowsOfIt = l.packed ? size0 : nodes;
            if (real) {
                tree.copyTokens(ids);
                tree.copyDepths(depths);
                LlamaSession.writeTreeMask(tree, input, treeAt + s * nodes * nodes, nodes);
            }
            LlamaSession.encodeTokens(input, first, n + first * heads, ids, depths, size0, rowsOfIt, cached, c);
            int keyRow = keysAt + s * keys;
            for (int j = 0; j < past; j++) {
                input[keyRow + j] = real ? base + j : slots.spareRow;
            }
            for (int i = 0; i < nodes; i++) {
                int row = i < size0 ? base + cached + i : slots.spareRow;
                if (i < rowsOfIt) {
                    input[writeAt + first + i] = row;
                }
                input[keyRow + past + i] = row;
                if (i >= size0) {
                    input[treeAt + (s * nodes + i) * nodes + i] = 0f; // a padding node sees itself only
                }
                if (l.packed) {
                    // A padding row of the attention takes the sequence's first node: any real row will do.
                    input[padAt + s * nodes + i] = first + (i < size0 ? i : 0);
                    if (i < size0) {
                        input[padAt + b * nodes + first + i] = s * nodes + i;
                    }
                }
            }
            input[pastAt + s] = cached;
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
        return size;
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
        PtNDArray keyRows = Torch.reshape(LlamaSession.asIds(all, l.keysAt(heads), l.pastAt(heads), device),
                new long[] {1, (long) l.b * l.keys()});
        PtNDArray headRows = Torch.reshape(Torch.add(keyRows, slots.headOffsets), new long[] {-1});
        PtNDArray lengths = LlamaSession.asIds(all, l.pastAt(heads), l.treeAt(heads), device);
        long treeAt = l.treeAt(heads);
        long padAt = l.padAt(heads);
        PtNDArray tree = Torch.reshape(Torch.to(Torch.slice(all, 0, treeAt, padAt), model.dtype, device),
                new long[] {l.b, l.nodes, l.nodes});
        PtNDArray pastMask = Torch.slice(Torch.embedding(lengths, slots.pastMasks), 1, 0, l.past); // [B, P]
        pastMask = Torch.tile(Torch.reshape(pastMask, new long[] {l.b, 1, l.past}), new long[] {1, l.nodes, 1});
        PtNDArray mask = Torch.cat(new PtNDArray[] {pastMask, tree}, 2); // [B, N, P + N]
        LlamaModel.Packing packing = null;
        if (l.packed) {
            long padded = (long) l.b * l.nodes;
            packing = new LlamaModel.Packing(LlamaSession.asIds(all, padAt, padAt + padded, device),
                    LlamaSession.asIds(all, padAt + padded, padAt + padded + n, device), (int) padded);
        }
        PtNDArray logits = model.pass(tokens, rope, mask, slots.kv, LlamaModel.CacheWrite.rows(writeRows),
                LlamaModel.Keys.gathered(headRows, l.b, l.keys(), slots.spareRow + 1, c, packing), (int) n, true);
        return new PtNDArray[] {logits, Torch.argmaxLast(logits)};
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
