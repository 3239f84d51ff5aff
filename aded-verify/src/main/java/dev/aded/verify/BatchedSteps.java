package dev.aded.verify;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
 * their ancestors in their own tree. Row-wise operations (projections, MLP, head: nearly all the arithmetic) run over
 * the pass's rows; attention runs over every slot of the cache at once, read in place as one strided batch
 * ([kv heads, slots, keys, head dim], a view: no keys are copied), each slot's queries being its sequence's nodes or,
 * for a slot outside the pass, any rows, masked and left unread. Reading idle slots costs bandwidth where the pass
 * holds few of them; gathering the keys of the pass's sequences instead copied them on every layer, which cost a
 * 7B-shape pass of 16 sequences three times one sequence's. Eager on the CPU; on a GPU with the graph helper,
 * replayed as CUDA graphs bucketed by (sequences, nodes, keys), as vLLM captures decode per batch size.
 *
 * <p>The step's input, one float tensor: token ids [R], RoPE rows [R·heads], rows to write [R], row moves of the
 * last commits [B·2·M] (graphs only), each slot's past length [S + 1], the pass row of each slot's attention rows
 * [(S + 1)·N], the attention row of each pass row [R], each sequence's slot [B], the attention column of each of its
 * tree's columns [B·N], the tree rows [N], the tree masks [B·N·N]. Attention has N rows and K keys per slot;
 * S slots and the spare slot, whose first row padding nodes write to. A graph's R is B·N, padding sequences included;
 * the eager pass packs its rows (R is the real nodes alone).
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
        int maxKeys = 1;
        for (int i = 0; i < count; i++) {
            sessions[i].requireRoom(trees[i].size());
            maxNodes = Math.max(maxNodes, trees[i].size());
            maxKeys = Math.max(maxKeys, sessions[i].cachedLength() + trees[i].size());
        }
        boolean graphed = graphs != null && pool.usable() && maxNodes <= GraphedSteps.MAX_NODES;
        Layout layout = graphed
                ? new Layout(batchBucket(count), GraphedSteps.ceilPow2(maxNodes),
                        Math.min(slots.slotRows, Math.max(GraphedSteps.MIN_KEYS, GraphedSteps.ceilPow2(maxKeys))),
                        false, batchBucket(count) * GraphedSteps.ceilPow2(maxNodes), RowMoves.MAX, slots.slots + 1)
                : packed(trees, count, maxNodes, maxKeys);
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
                    layout = packed(trees, count, maxNodes, maxKeys);
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
     * A pass's shape: B sequences of up to {@code nodes} nodes, attention over {@code keys} keys of each of
     * {@code slots} slots (the spare one included); {@code rows} rows through the row-wise operations, B·nodes, or the
     * real nodes alone when {@code packed}; {@code moves} row moves of each sequence's last commit (see
     * {@link RowMoves}), none in an eager pass.
     */
    private record Layout(int b, int nodes, int keys, boolean packed, int rows, int moves, int slots) {
        /** The graph bucket of this shape. */
        long key() {
            return ((long) b << 40) | ((long) nodes << 24) | keys;
        }

        /** Attention rows: {@code nodes} per slot. */
        int attentionRows() {
            return slots * nodes;
        }

        /** Where the input's parts start (the class comment lists them), for a model of {@code heads} q/k/v heads. */
        int writeAt(int heads) {
            return rows * (1 + heads);
        }

        int movesAt(int heads) {
            return writeAt(heads) + rows;
        }

        int lengthsAt(int heads) {
            return movesAt(heads) + 2 * b * moves;
        }

        int toSlotsAt(int heads) {
            return lengthsAt(heads) + slots;
        }

        int fromSlotsAt(int heads) {
            return toSlotsAt(heads) + attentionRows();
        }

        int treeSlotsAt(int heads) {
            return fromSlotsAt(heads) + rows;
        }

        int treeColumnsAt(int heads) {
            return treeSlotsAt(heads) + b;
        }

        int treeRowsAt(int heads) {
            return treeColumnsAt(heads) + b * nodes;
        }

        int treeAt(int heads) {
            return treeRowsAt(heads) + nodes;
        }

        int size(int heads) {
            return treeAt(heads) + b * nodes * nodes;
        }
    }

    /**
     * The eager pass's shape: no more sequences, nodes or keys than the batch has, its rows the real nodes alone
     * (the attention's slot layout gathers them anyway).
     */
    private Layout packed(DraftTree[] trees, int count, int maxNodes, int maxKeys) {
        int rows = 0;
        for (int i = 0; i < count; i++) {
            rows += trees[i].size();
        }
        return new Layout(count, maxNodes, maxKeys, true, rows, 0, slots.slots + 1);
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
        int n = l.rows;
        int writeAt = l.writeAt(heads);
        int movesAt = l.movesAt(heads);
        int lengthsAt = l.lengthsAt(heads);
        int toSlotsAt = l.toSlotsAt(heads);
        int fromSlotsAt = l.fromSlotsAt(heads);
        int treeSlotsAt = l.treeSlotsAt(heads);
        int treeColumnsAt = l.treeColumnsAt(heads);
        int treeRowsAt = l.treeRowsAt(heads);
        int treeAt = l.treeAt(heads);
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
        int spareSlot = slots.slots;
        // A slot outside the pass opens its first key, so that its rows' softmax has something to weigh; their
        // queries are any row's (row 0), and nothing reads their output.
        Arrays.fill(input, lengthsAt, lengthsAt + l.slots, 1f);
        Arrays.fill(input, toSlotsAt, toSlotsAt + l.attentionRows(), 0f);
        Arrays.fill(input, treeAt, size, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < nodes; i++) {
            input[treeRowsAt + i] = i;
        }
        int first = 0; // the sequence's first row
        for (int s = 0; s < b; s++) {
            boolean real = s < count;
            DraftTree tree = real ? trees[s] : null;
            int size0 = real ? tree.size() : 0;
            int cached = real ? sessions[s].cachedLength() : 0;
            int slot = real ? sessions[s].slot() : spareSlot;
            int base = slot * slots.slotRows;
            int rowsOfIt = l.packed ? size0 : nodes;
            if (real) {
                tree.copyTokens(ids);
                tree.copyDepths(depths);
                LlamaSession.writeTreeMask(tree, input, treeAt + s * nodes * nodes, nodes);
                input[lengthsAt + slot] = cached;
            }
            LlamaSession.encodeTokens(input, first, n + first * heads, ids, depths, size0, rowsOfIt, cached, c);
            input[treeSlotsAt + s] = slot;
            for (int i = 0; i < nodes; i++) {
                // Columns past the keys (only padding columns reach them, closed anyway) go to the mask's spare
                // last column, which attention leaves out.
                input[treeColumnsAt + s * nodes + i] = Math.min(cached + i, l.keys);
                if (i >= size0) {
                    // A padding node writes to the spare row and sees its tree's root only (the spare slot's
                    // sequences: its first key).
                    input[treeAt + (s * nodes + i) * nodes] = 0f;
                }
                if (i < rowsOfIt) {
                    input[writeAt + first + i] = i < size0 ? base + cached + i : slots.spareRow;
                    input[fromSlotsAt + first + i] = slot * nodes + i;
                }
                if (real) {
                    input[toSlotsAt + slot * nodes + i] = first + (i < rowsOfIt ? i : 0);
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
            slots.kv.move(LlamaSession.asIds(all, l.movesAt(heads), l.lengthsAt(heads), device), l.b, l.moves,
                    (PtNDManager) scope);
        }
        PtNDArray lengths = LlamaSession.asIds(all, l.lengthsAt(heads), l.toSlotsAt(heads), device);
        LlamaModel.Packing toSlots = new LlamaModel.Packing(
                LlamaSession.asIds(all, l.toSlotsAt(heads), l.fromSlotsAt(heads), device),
                LlamaSession.asIds(all, l.fromSlotsAt(heads), l.treeSlotsAt(heads), device), l.attentionRows());
        PtNDArray logits = model.pass(tokens, rope, mask(all, l, lengths, heads), slots.kv,
                LlamaModel.CacheWrite.rows(writeRows), LlamaModel.Keys.slots(l.slots, slots.slotRows, l.keys, c,
                        toSlots), (int) n, true);
        return new PtNDArray[] {logits, Torch.argmaxLast(logits)};
    }

    /**
     * The attention's additive mask [S + 1, N, K]: each slot's past open (its first key for a slot outside the
     * pass), then each sequence's tree mask put at its slot's rows and its tree's columns, in one indexed write. The
     * mask is one column wider than the keys until then, so that columns past them have somewhere to go.
     */
    private PtNDArray mask(PtNDArray all, Layout l, PtNDArray lengths, int heads) {
        ai.djl.Device device = model.device;
        PtNDArray past = Torch.slice(Torch.embedding(lengths, slots.pastMasks), 1, 0, l.keys + 1L); // [S+1, K+1]
        PtNDArray mask = Torch.tile(Torch.reshape(past, new long[] {l.slots, 1, l.keys + 1L}),
                new long[] {1, l.nodes, 1});
        PtNDArray treeSlots = Torch.reshape(
                LlamaSession.asIds(all, l.treeSlotsAt(heads), l.treeColumnsAt(heads), device),
                new long[] {l.b, 1, 1});
        PtNDArray treeColumns = Torch.reshape(
                LlamaSession.asIds(all, l.treeColumnsAt(heads), l.treeRowsAt(heads), device),
                new long[] {l.b, 1, l.nodes});
        PtNDArray treeRows = Torch.reshape(LlamaSession.asIds(all, l.treeRowsAt(heads), l.treeAt(heads), device),
                new long[] {1, l.nodes, 1});
        PtNDArray tree = Torch.reshape(
                Torch.to(Torch.slice(all, 0, l.treeAt(heads), l.size(heads)), model.dtype, device),
                new long[] {l.b, l.nodes, l.nodes});
        Torch.put(mask, new NDIndex("{}, {}, {}", treeSlots, treeRows, treeColumns), tree);
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
