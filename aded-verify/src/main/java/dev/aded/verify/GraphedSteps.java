package dev.aded.verify;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.util.Arrays;

/**
 * The verifier's forward pass over one sequence's KV cache, captured as CUDA graphs and replayed
 * ({@link GraphBuckets}): the GPU then runs a step at its own speed instead of waiting for the host to issue some
 * 30 PyTorch calls per layer.
 *
 * <p>A graph replays fixed shapes at fixed addresses, so steps are bucketed: the node count rounds up to a power
 * of two (padding nodes attend to key 0 only and write their keys and values to the cache's last row, which no
 * real token uses), and attention reads a power-of-two number of cache rows, the rows past the sequence masked
 * out. Every input that changes per step (token ids, RoPE rows, the rows to write, the last commit's
 * {@link RowMoves}, the mask) is copied into the bucket's static input tensor before the replay.
 */
final class GraphedSteps implements AutoCloseable {
    /** The largest tree a graph takes; larger ones (none today: trees stop at 256 nodes) run eagerly. */
    static final int MAX_NODES = 256;
    /** The fewest cache rows attention reads in a graph. */
    static final int MIN_KEYS = 64;

    private final LlamaModel model;
    final KvCache kv;
    private final GraphBuckets buckets;
    private float[] input = new float[0];

    GraphedSteps(LlamaModel model, GraphPool pool, int rows) {
        this.model = model;
        this.kv = new KvCache(model, rows);
        this.buckets = new GraphBuckets(pool, kv.manager);
    }

    /** Graphs captured so far for this cache. */
    int graphs() {
        return buckets.size();
    }

    /**
     * Starts the n nodes at positions {@code cached + depths[i]}, attending to the first {@code cached} rows and to
     * what {@code treeMask} [n·n, 0 or -inf] opens, after making {@code moves} (at most {@link RowMoves#MAX}, none
     * for a capture: {@link LlamaSession#moveBefore}). Returns the bucket whose logits [N ≥ n, vocab] the device is
     * computing, valid until the next step on this cache; {@link #argmax} waits for them.
     */
    GraphBuckets.Bucket forward(int[] ids, int[] depths, float[] treeMask, int n, int cached, RowMoves moves) {
        int nodes = ceilPow2(n);
        int keys = keys(n, cached);
        if (cached + n > keys || cached + n >= kv.rows) {
            throw new IllegalStateException("a tree of " + n + " nodes after " + cached + " tokens does not fit a"
                    + " cache of " + kv.rows + " rows");
        }
        long key = key(nodes, keys);
        int size = encode(ids, depths, treeMask, n, cached, nodes, keys, moves);
        GraphBuckets.Bucket b = buckets.run(key, input, size, (in, scope) -> step(in, nodes, keys, scope));
        moves.clear();
        return b;
    }

    /** Waits for the step {@code b} runs and writes its first n nodes' argmax into {@code out}. */
    void argmax(GraphBuckets.Bucket b, int[] out, int n) {
        buckets.argmax(b, out, n);
    }

    /**
     * Captures every bucket a step of up to {@code maxNodes} nodes may need on this cache, as vLLM captures its
     * decode graphs at start-up: a capture costs some ms of host time (two eager passes), which otherwise falls on
     * the first generations to meet each shape. Only the cache's spare last row is written.
     */
    void captureAll(int maxNodes) {
        int[] none = new int[0];
        RowMoves noMoves = new RowMoves();
        for (int nodes = 1; nodes <= Math.min(ceilPow2(maxNodes), MAX_NODES); nodes *= 2) {
            for (int keys = Math.max(MIN_KEYS, nodes); keys < 2 * kv.rows && nodes < kv.rows; keys *= 2) {
                int k = Math.min(keys, kv.rows);
                long key = key(nodes, k);
                if (!buckets.has(key)) {
                    int n = nodes;
                    int size = encode(none, none, new float[0], 0, 0, nodes, k, noMoves);
                    buckets.run(key, input, size, (in, scope) -> step(in, n, k, scope));
                }
            }
        }
    }

    /** Whether a step of n nodes after {@code cached} tokens replays a graph (else it captures one first). */
    boolean captured(int n, int cached) {
        return buckets.has(key(ceilPow2(n), keys(n, cached)));
    }

    /** Cache rows a step's attention reads: a power of two, at least {@link #MIN_KEYS}, at most the cache. */
    private int keys(int n, int cached) {
        return Math.min(kv.rows, Math.max(MIN_KEYS, ceilPow2(cached + n)));
    }

    /**
     * The static input of a bucket: ids [N], RoPE table rows [N·heads], cache rows to write [N], rows to move from
     * and to [2·{@link RowMoves#MAX}], then the mask in two small parts that the graph expands to [N, keys]: each
     * cache row's class [keys] (0 the past, 1 + j the tree's node j, N + 1 the rows past the tree) and each class's
     * mask column [(N + 2)·N]. Sending the mask itself took 4·N·keys bytes a step (64 KB for 32 nodes after 300
     * tokens), whose filling and copying cost the host some 20 µs. Returns the input's length.
     */
    private int encode(int[] ids, int[] depths, float[] treeMask, int n, int cached, int nodes, int keys,
            RowMoves moves) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        int size = nodes * (2 + heads) + 2 * RowMoves.MAX + keys + (nodes + 2) * nodes;
        if (input.length < size) {
            input = new float[size];
        }
        LlamaSession.encodeTokens(input, 0, nodes, ids, depths, n, nodes, cached, c);
        int writes = nodes * (1 + heads);
        for (int i = 0; i < nodes; i++) {
            input[writes + i] = i < n ? cached + i : kv.rows - 1;
        }
        moves.encode(input, writes + nodes, RowMoves.MAX, 0, kv.rows - 1);
        int classes = writes + nodes + 2 * RowMoves.MAX;
        for (int j = 0; j < keys; j++) {
            input[classes + j] = j < cached ? 0 : Math.min(nodes + 1, 1 + j - cached);
        }
        int columns = classes + keys;
        // Class 0, the past, is open to every node; padding nodes attend to node 0 as well, so that no row of theirs
        // is all -inf (a NaN would reach the cache's spare row, which real rows read masked).
        Arrays.fill(input, columns, columns + nodes, 0f);
        Arrays.fill(input, columns + nodes, columns + (nodes + 2) * nodes, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < nodes; j++) {
            int column = columns + (1 + j) * nodes;
            for (int i = 0; i < nodes; i++) {
                if (i < n && j < n) {
                    input[column + i] = treeMask[i * n + j];
                } else if (i >= n && j == 0) {
                    input[column + i] = 0f;
                }
            }
        }
        return size;
    }

    /** The pass as the graph holds it: inputs sliced from the static tensor, outputs logits and their argmax. */
    private PtNDArray[] step(PtNDArray in, int nodes, int keys, NDManager scope) {
        LlamaConfig c = model.config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        PtNDArray all = Torch.slice(in, 0, 0, in.getShape().get(0));
        all.attach(scope);
        PtNDArray tokens = LlamaSession.asIds(all, 0, nodes, model.device);
        PtNDArray rows = Torch.reshape(LlamaSession.asIds(all, nodes, (long) nodes * (1 + heads), model.device),
                new long[] {nodes, heads});
        long writes = (long) nodes * (1 + heads);
        PtNDArray writeRows = LlamaSession.asIds(all, writes, writes + nodes, model.device);
        long movesAt = writes + nodes;
        long classesAt = movesAt + 2 * RowMoves.MAX;
        kv.move(LlamaSession.asIds(all, movesAt, classesAt, model.device), 1, RowMoves.MAX, (PtNDManager) scope);
        long columnsAt = classesAt + keys;
        PtNDArray classes = LlamaSession.asIds(all, classesAt, columnsAt, model.device);
        PtNDArray columns = Torch.reshape(Torch.to(Torch.slice(all, 0, columnsAt, columnsAt + (nodes + 2L) * nodes),
                model.dtype, model.device), new long[] {nodes + 2L, nodes});
        PtNDArray mask = Torch.transpose(Torch.embedding(classes, columns), 0, 1); // [nodes, keys], a view
        PtNDArray logits = model.pass(tokens, rows, mask, kv, LlamaModel.CacheWrite.rows(writeRows),
                LlamaModel.Keys.prefix(keys, c), nodes, true);
        return new PtNDArray[] {logits, Torch.argmaxLast(logits)};
    }

    /** The smallest power of two at least x (x ≥ 1). */
    static int ceilPow2(int x) {
        return x <= 1 ? 1 : Integer.highestOneBit(x - 1) << 1;
    }

    private static long key(int nodes, int keys) {
        return ((long) nodes << 32) | keys;
    }

    @Override
    public void close() {
        buckets.close();
        kv.close();
    }
}
