package dev.aded.verify;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TargetModel;
import dev.aded.core.TreeLogits;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Llama-family decoder (llama, mistral, qwen2) on DJL's PyTorch engine: f32 on the CPU, f16 on a GPU.
 *
 * <p>The forward pass of one decoder layer, over n new tokens whose keys and values join a cache of earlier ones:
 * <pre>
 *   x   = normalize(h)                          RMSNorm, folded into the next weights (see LlamaWeights)
 *   qkv = linear(x, Wqkv, b)  → [n, heads, D]   q, k and v heads in one matrix
 *   qkv = qkv·cos + (qkv·R)·sin                 RoPE, R the half rotation; v heads get cos 1, sin 0
 *   cache[l, pos..pos+n] = k, v                 written in place
 *   s   = q·Kᵀ + mask ; p = softmax(s) ; o = p·V   grouped-query attention over cache + tree
 *   h   = h + linear(o, Wo)
 *   x   = normalize(h) ; g, u = linear(x, Wgu) ; h = h + linear(silu(g)·u, Wdown)
 * </pre>
 * About 30 tensor operations per layer, each costing host time on top of its kernel, so the count is what
 * {@link LlamaSession} keeps small.
 */
public final class LlamaModel implements TargetModel {
    final LlamaConfig config;
    final NDManager manager;
    final LlamaWeights weights;
    final DataType dtype;
    final Device device;
    /** Whether projections of several rows multiply with the weights on the left: on the CPU, see linear(). */
    private final boolean weightsLeft;
    /**
     * RoPE factors per position, [2·maxPos, 2·D]: row 2p holds cos then sin of position p for q/k heads, row 2p + 1
     * holds 1 then 0 for v heads, so that one gather serves every head.
     */
    final NDArray ropeTable;
    /** [D, D]: x · rotateHalf = (−x[D/2:], x[:D/2]), RoPE's half rotation of each head. */
    final NDArray rotateHalf;
    private final String name;
    private GraphPool graphs;
    private boolean graphsLooked;
    /** Whether attention runs as the helper's tree-attention kernel: see {@link #treeKernel}; set with the pool. */
    private boolean treeKernel;
    private int slotCount;
    private int slotTokens;
    private KvSlots slots;
    private BatchedSteps batch;

    private LlamaModel(String name, LlamaConfig config, NDManager manager, LlamaWeights weights, DataType dtype) {
        this.name = name;
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.dtype = dtype;
        this.device = manager.getDevice();
        this.weightsLeft = !device.isGpu();
        this.ropeTable = ropeTable(config, manager, dtype);
        this.rotateHalf = rotateHalf(config.headDim(), manager, dtype);
    }

    /**
     * Loads a Hugging Face model folder: f32 on the CPU, f16 on a GPU.
     *
     * @throws IllegalArgumentException naming the file and the problem for a bad config or bad weights
     * @throws dev.aded.core.DeviceMemoryException when the device cannot hold the weights
     */
    public static LlamaModel load(Path modelDir, Device device) {
        return load(modelDir, device, defaultType(device));
    }

    /**
     * Loads a Hugging Face model folder in {@code dtype}: {@link DataType#FLOAT32} anywhere, or
     * {@link DataType#FLOAT16} on a GPU. f32 on a GPU gives up speed for exact agreement with plain decoding where
     * f16 rounding ties two tokens.
     */
    public static LlamaModel load(Path modelDir, Device device, DataType dtype) {
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("model folder " + modelDir + " does not exist");
        }
        checkType(device, dtype);
        LlamaConfig config = LlamaConfig.load(modelDir);
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        try {
            LlamaWeights w = LlamaWeights.build(config,
                    LlamaWeights.checkpoint(modelDir, SafetensorsFile.openModel(modelDir)), manager, dtype);
            return new LlamaModel(modelDir.getFileName().toString(), config, manager, w, dtype);
        } catch (EngineException e) {
            manager.close();
            throw DeviceMemory.translate(e, weightsOf(modelDir.toString(), config, dtype), device);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static String weightsOf(String model, LlamaConfig config, DataType dtype) {
        long n = config.parameters();
        return String.format(java.util.Locale.ROOT, "the weights of %s (%.1fM parameters, %s as %s)", model, n / 1e6,
                DeviceMemory.bytes((double) n * dtype.getNumOfBytes()), dtype);
    }

    /** A model of the given shape with random weights made on the device: for speed measurements. */
    public static LlamaModel random(LlamaConfig config, Device device, long seed) {
        DataType dtype = defaultType(device);
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        try {
            LlamaWeights w = LlamaWeights.build(config, LlamaWeights.random(seed), manager, dtype);
            return new LlamaModel("random-" + config.numLayers() + "x" + config.hiddenSize(), config, manager, w,
                    dtype);
        } catch (EngineException e) {
            manager.close();
            throw DeviceMemory.translate(e, weightsOf("a random model", config, dtype), device);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static DataType defaultType(Device device) {
        return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    private static void checkType(Device device, DataType dtype) {
        if (dtype != DataType.FLOAT32 && !(dtype == DataType.FLOAT16 && device.isGpu())) {
            throw new IllegalArgumentException("models run in float32, or float16 on a GPU; not " + dtype + " on "
                    + device);
        }
    }

    private static NDArray rotateHalf(int dim, NDManager m, DataType dtype) {
        int half = dim / 2;
        float[] r = new float[dim * dim];
        for (int j = 0; j < half; j++) {
            r[(j + half) * dim + j] = -1f; // out[j] = -x[j + half]
            r[j * dim + j + half] = 1f; // out[j + half] = x[j]
        }
        return m.create(r, new Shape(dim, dim)).toType(dtype, false);
    }

    private static NDArray ropeTable(LlamaConfig c, NDManager m, DataType dtype) {
        int dim = c.headDim();
        int half = dim / 2;
        float[] inv = c.inverseFrequencies();
        int positions = c.maxPositions();
        float[] table = new float[positions * 4 * dim];
        for (int p = 0; p < positions; p++) {
            int qk = (2 * p) * 2 * dim;
            int v = (2 * p + 1) * 2 * dim;
            for (int i = 0; i < dim; i++) {
                float angle = (float) p * inv[i % half];
                table[qk + i] = (float) Math.cos(angle);
                table[qk + dim + i] = (float) Math.sin(angle);
                table[v + i] = 1f;
            }
        }
        return m.create(table, new Shape(2L * positions, 2L * dim)).toType(dtype, false);
    }

    /**
     * Makes this model batch: sessions' KV caches become {@code slots} slots of {@code slotTokens} rows in one
     * block of device memory ({@link KvSlots}), and {@link #forwardAll} verifies the trees of many sessions in one
     * forward pass. Call before opening sessions. Sessions that find no free slot, or need more than
     * {@code slotTokens}, get a cache of their own and run outside the batch.
     */
    public synchronized void batching(int slots, int slotTokens) {
        if (batch != null || slotCount > 0) {
            throw new IllegalStateException("batching is already set up for " + name);
        }
        if (slots < 1 || slotTokens < 1 || slotTokens > maxContext()) {
            throw new IllegalArgumentException("a batch needs at least 1 slot of 1 to " + maxContext()
                    + " tokens, got " + slots + " of " + slotTokens);
        }
        this.slotCount = slots;
        this.slotTokens = slotTokens;
    }

    /** The type of the weights and activations: f32, or f16 on a GPU. */
    public DataType dataType() {
        return dtype;
    }

    /**
     * The spacing of this model's values near x (f16 keeps 10 mantissa bits against f32's 23): top-two logits
     * within a step or two of it are a rounding tie.
     */
    public float ulp(float x) {
        return Math.ulp(Math.abs(x)) * (dtype == DataType.FLOAT16 ? 8192f : 1f);
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String device() {
        return device.toString();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int maxContext() {
        return config.maxPositions();
    }

    @Override
    public int[] eosTokenIds() {
        return config.eosTokenIds().clone();
    }

    @Override
    public ModelSession newSession(int maxTokens) {
        if (maxTokens < 1 || maxTokens > config.maxPositions()) {
            throw new IllegalArgumentException("a session of " + maxTokens + " tokens does not fit the model's"
                    + " context of " + config.maxPositions());
        }
        if (slotCount > 0 && maxTokens <= slotTokens) {
            BatchedSteps steps = batch();
            int slot = slots.take();
            if (slot >= 0) {
                try {
                    return new LlamaSession(this, maxTokens, slots, slot);
                } catch (RuntimeException e) {
                    slots.giveBack(slot);
                    throw e;
                }
            }
        }
        return new LlamaSession(this, maxTokens, graphPool());
    }

    /** Eager batched passes take the layout of the graphs: for a CPU test of it. */
    void layOutBatchesLikeGraphs() {
        batch().layOutLikeGraphs();
    }

    /** Batched passes attend by slot, as the tree-attention kernel does, without it: for a CPU test of that layout. */
    void attendBatchesBySlot() {
        batch().attendBySlot();
    }

    /** The batch's caches and pass, made at the first session: the graph helper loads after DJL's first GPU work. */
    private synchronized BatchedSteps batch() {
        if (batch == null) {
            slots = new KvSlots(this, slotCount, slotTokens);
            batch = new BatchedSteps(this, slots, graphPool());
        }
        return batch;
    }

    /**
     * Verifies the trees of this model's batch sessions in one pass; sessions outside the batch (or every session
     * of a model without {@link #batching}) run one after another.
     */
    @Override
    public TreeLogits[] forwardAll(ModelSession[] sessions, DraftTree[] trees, int count) {
        TreeLogits[] out = new TreeLogits[count];
        LlamaSession[] batched = new LlamaSession[count];
        DraftTree[] batchedTrees = new DraftTree[count];
        int k = 0;
        for (int i = 0; i < count; i++) {
            if (sessions[i] instanceof LlamaSession s && s.slot() >= 0 && s.model() == this) {
                batched[k] = s;
                batchedTrees[k++] = trees[i];
                out[i] = s;
            } else {
                out[i] = sessions[i].forward(trees[i]);
            }
        }
        if (k > 0) {
            batch.forward(batched, batchedTrees, k);
        }
        return out;
    }

    /** Powers of two where steps replay CUDA graphs, whose node counts round up to one. */
    @Override
    public int paddedNodes(int nodes) {
        GraphPool pool = graphPool();
        return pool != null && pool.usable() && nodes <= GraphedSteps.MAX_NODES ? GraphedSteps.ceilPow2(nodes) : nodes;
    }

    /** Captures the CUDA graphs of such sessions' steps now, where the model has graphs. */
    @Override
    public void prepare(int maxTokens, int maxNodes) {
        if (maxTokens < 1 || maxTokens > config.maxPositions()) {
            throw new IllegalArgumentException("sessions of " + maxTokens + " tokens do not fit the model's context of "
                    + config.maxPositions());
        }
        GraphPool pool = graphPool();
        if (pool != null && pool.usable()) {
            // Sessions that fit a slot take one: the single sessions' graphs would be for those that find none.
            if (slotCount > 0 && maxTokens <= slotTokens) {
                stepAloneInASlot(maxTokens, maxNodes);
            } else {
                pool.prepare(maxTokens, maxNodes);
            }
        }
    }

    /**
     * Takes a lone session in a slot through every graph bucket of its steps ({@link BatchedSteps#loneSteps}), so
     * that their graphs are captured now: a batching model gives even a lone generation a slot, whose steps replay
     * the batch's graphs, not the ones {@link GraphPool#prepare} captures for sessions outside it. Commits nothing.
     * Does nothing while no slot is free.
     */
    void stepAloneInASlot(int maxTokens, int maxNodes) {
        int[] filler = new int[maxTokens];
        for (int i = 0; i < maxTokens; i++) {
            filler[i] = (int) ((i * 7919L + 13) % vocabSize());
        }
        DraftTree chain = new DraftTree(Math.min(GraphedSteps.MAX_NODES, maxTokens));
        try (ModelSession session = newSession(maxTokens)) {
            if (((LlamaSession) session).slot() < 0) {
                return;
            }
            for (int[] step : BatchedSteps.loneSteps(maxNodes, maxTokens, slotTokens)) {
                session.prefill(filler, session.cachedLength(), step[1]);
                chain.reset(filler[0]);
                for (int i = 1; i < step[0]; i++) {
                    chain.add(i - 1, filler[i], 1f);
                }
                session.forward(chain).argmax(0);
            }
        }
    }

    /** The pool of graph-carrying caches, made at the first session: the helper loads after DJL's first GPU work. */
    private synchronized GraphPool graphPool() {
        if (!graphsLooked) {
            graphsLooked = true;
            graphs = CudaGraphs.forDevice(device).map(cuda -> new GraphPool(this, cuda)).orElse(null);
            treeKernel = TREE_KERNEL && graphs != null && graphs.cuda.treeAttentionSupports(config.headDim());
        }
        return graphs;
    }

    /**
     * Wall time spent capturing CUDA graphs so far: a first-use cost that falls on whichever generation first meets
     * a step's shape (benchmarks report it apart).
     */
    public synchronized long graphCaptureNanos() {
        return graphs == null ? 0 : graphs.captureNanos();
    }

    /** How this model's steps run: "eager", or the CUDA graphs captured so far and their memory. */
    public synchronized String stepMode() {
        String mode = graphs == null ? "eager" : graphs.summary();
        return slots == null ? mode : mode + String.format(java.util.Locale.ROOT, "; batching %d slots of %d tokens",
                slots.slots, slots.slotRows);
    }

    /**
     * The decoder over n new tokens already on the device: their ids [n], RoPE table rows [n, heads] and additive
     * mask (null for one token that attends to everything); keys and values go into {@code kv} where {@code write}
     * says, and attention reads the cache rows {@code keys} names. Returns the logits [n, vocab] when asked. The
     * eager step and the captured CUDA-graph step both run this, for one sequence or a batch: one forward pass in
     * the code, several ways of issuing it.
     */
    PtNDArray pass(PtNDArray tokens, PtNDArray ropeRows, PtNDArray mask, KvCache kv, CacheWrite write, Keys keys,
            int n, boolean wantLogits) {
        LlamaConfig c = config;
        int heads = c.numHeads() + 2 * c.numKvHeads();
        int hd = c.headDim();
        PtNDArray rope = Torch.reshape(Torch.embedding(ropeRows, (PtNDArray) ropeTable),
                new long[] {n, heads, 2L * hd});
        PtNDArray cos = Torch.slice(rope, 2, 0, hd);
        PtNDArray sin = Torch.slice(rope, 2, hd, 2L * hd);
        PtNDArray h = Torch.embedding(tokens, (PtNDArray) weights.embed);
        NDManager step = h.getManager();
        boolean kernel = treeKernel();
        boolean fused = !kernel && mask != null && keys.sequences() >= FUSED_MIN_SEQUENCES && fusedAttention();
        if (fused) {
            mask = fusedMask(mask, keys.sequences(), keys.attentionRows(n));
        }
        for (int l = 0; l < c.numLayers(); l++) {
            // A layer's temporaries (its gathered keys above all, hundreds of MB for a batch of 7B sequences) go
            // when it ends, not with the step: results land in their first operand's manager, so the layer's input
            // moves into a scope of its own, and only its output moves back.
            try (NDManager scope = step.newSubManager()) {
                h.attach(scope);
                h = layer(l, h, cos, sin, mask, kernel, fused, kv.layers[l], write, keys, n);
                h.attach(step);
            }
        }
        return wantLogits ? linear(normalized(h), (PtNDArray) weights.lmHead, null, n) : null;
    }

    /**
     * The cache rows a pass attends to, as {@code [2·kvHeads, B, L, headDim]}: B sequences of n / B nodes each, L
     * keys each.
     */
    interface Keys {
        int sequences();

        /** How the pass's rows map to the attention's B sequences of equal length; null when they are the same rows. */
        default Packing packing() {
            return null;
        }

        /** The attention's rows, all B sequences', for a pass of {@code n} rows. */
        default int attentionRows(int n) {
            return packing() == null ? n : packing().paddedRows;
        }

        /**
         * The keys, in {@code scope} (the layer's): what is made from the cache, or gathered by an index made for the
         * whole pass, would otherwise join that operand's manager and outlive the layer.
         */
        PtNDArray read(PtNDArray layerCache, NDManager scope);

        /**
         * For the tree-attention kernel, each sequence's slot among {@link #slotsOf}'s slots ([B], int64); null where
         * {@link #read} gives the sequences themselves.
         */
        default PtNDArray slotTable() {
            return null;
        }

        /**
         * For the tree-attention kernel, where each sequence's open keys and real tokens end and its past, open to
         * each of those tokens ([3, B], int64): it spares the kernel the padding of a pass whose trees differ in
         * size, and the mask's reads but for the tree's keys; null where it is not known.
         */
        default PtNDArray bounds() {
            return null;
        }

        /** What the tree-attention kernel reads: {@link #read}'s keys, or with a {@link #slotTable}, all slots. */
        default PtNDArray slotsOf(PtNDArray layerCache, NDManager scope) {
            return read(layerCache, scope);
        }

        /** One sequence whose keys are the cache's first {@code count} rows: a view, no copy. */
        static Keys prefix(int count, LlamaConfig c) {
            long[] shape = {2L * c.numKvHeads(), 1, count, c.headDim()};
            return new Keys() {
                @Override
                public int sequences() {
                    return 1;
                }

                @Override
                public PtNDArray read(PtNDArray layerCache, NDManager scope) {
                    PtNDArray rows = Torch.slice(layerCache, 1, 0, count);
                    rows.attach(scope);
                    return Torch.reshape(rows, shape);
                }
            };
        }

        /**
         * B sequences anywhere in the cache: for each kv head h and key j of sequence b, the row
         * {@code h·rows + row(b, j)} of the layer's cache seen as {@code [2·kvHeads·rows, headDim]} (int64, on the
         * device, made once per pass for all layers). A few slots of one cache are no view of it, as all of them
         * are ({@link #slots}); gathering whole head rows is an embedding lookup, the fastest gather.
         */
        static Keys gathered(PtNDArray headRows, int sequences, int perSequence, int cacheRows, LlamaConfig c,
                Packing packing) {
            long[] table = {2L * c.numKvHeads() * cacheRows, c.headDim()};
            long[] shape = {2L * c.numKvHeads(), sequences, perSequence, c.headDim()};
            return new Batch(sequences, packing, (layerCache, scope) -> {
                PtNDArray flat = Torch.reshape(layerCache, table);
                flat.attach(scope);
                return Torch.reshape(Torch.embedding(headRows, flat, scope), shape);
            });
        }

        /**
         * Every slot of a batch's cache ({@link KvSlots}), each slot's first {@code keys} rows, read in place: the
         * layer's cache {@code [2·kvHeads, slots·slotRows, headDim]} seen as {@code [2·kvHeads, slots, slotRows,
         * headDim]} and cut to {@code keys}, a view whose (head, slot) dimensions fold into one batch stride, so
         * that the attention's batched matmuls read the keys where they are. {@code toSlots} maps the pass's rows
         * to the slots' attention rows and back.
         */
        static Keys slots(int slots, int slotRows, int keys, LlamaConfig c, Packing toSlots) {
            long[] shape = {2L * c.numKvHeads(), slots, slotRows, c.headDim()};
            return new Batch(slots, toSlots, (layerCache, scope) -> {
                PtNDArray all = Torch.reshape(layerCache, shape);
                all.attach(scope);
                return Torch.slice(all, 2, 0, keys);
            });
        }

        /**
         * B sequences, each its slot's first {@code keys} rows ({@code table}: each sequence's slot, on the device;
         * {@code bounds}: see {@link #bounds}), for the tree-attention kernel, which reads them where they are
         * ({@link #slotsOf}); DJL's operators get them gathered by slot ({@link #read}: a model without the kernel,
         * as a CPU checks the layout).
         */
        static Keys bySlot(PtNDArray table, PtNDArray bounds, int sequences, int slots, int slotRows, int keys,
                LlamaConfig c, Packing packing) {
            Keys all = slots(slots, slotRows, keys, c, null);
            return new Batch(sequences, packing, (layerCache, scope) -> Torch.select(all.read(layerCache, scope),
                    new NDIndex(":, {}", table), (ai.djl.pytorch.engine.PtNDManager) scope)) {
                @Override
                public PtNDArray slotTable() {
                    return table;
                }

                @Override
                public PtNDArray bounds() {
                    return bounds;
                }

                @Override
                public PtNDArray slotsOf(PtNDArray layerCache, NDManager scope) {
                    return all.read(layerCache, scope);
                }
            };
        }

        /**
         * The keys of a batch of {@code sequences}, its rows mapped by {@code packing} (null: one to one), as
         * {@code read} makes them from a layer's cache.
         */
        class Batch implements Keys {
            private final int sequences;
            private final Packing packing;
            private final java.util.function.BiFunction<PtNDArray, NDManager, PtNDArray> read;

            Batch(int sequences, Packing packing, java.util.function.BiFunction<PtNDArray, NDManager, PtNDArray> read) {
                this.sequences = sequences;
                this.packing = packing;
                this.read = read;
            }

            @Override
            public int sequences() {
                return sequences;
            }

            @Override
            public Packing packing() {
                return packing;
            }

            @Override
            public PtNDArray read(PtNDArray layerCache, NDManager scope) {
                return read.apply(layerCache, scope);
            }
        }
    }

    /**
     * How a pass's rows (one per node, for every row-wise operation: the projections, the MLP, the head, nearly
     * all the arithmetic) map to the attention's rows, B sequences of equal length.
     *
     * @param padded for each of the attention's rows, the pass's row it takes (rows of no node take any)
     * @param packed for each of the pass's rows, its row in the attention's layout
     * @param paddedRows the attention's rows
     */
    record Packing(PtNDArray padded, PtNDArray packed, int paddedRows) {
        /** Packed queries [n, heads, D] → the attention's rows [paddedRows, heads, D]. */
        PtNDArray toPadded(PtNDArray queries, int heads, int hd) {
            PtNDArray flat = Torch.reshape(queries, new long[] {-1, (long) heads * hd});
            return Torch.reshape(Torch.embedding(padded, flat, flat.getManager()),
                    new long[] {paddedRows, heads, hd});
        }

        /** The attention's output rows [paddedRows, width] → the packed rows [n, width]. */
        PtNDArray toPacked(PtNDArray rows) {
            return Torch.embedding(packed, rows, rows.getManager());
        }
    }

    /**
     * Where a step's new keys and values {@code [2·kvHeads, n, headDim]} go in a layer's cache
     * {@code [2·kvHeads, rows, headDim]}.
     */
    interface CacheWrite {
        void into(PtNDArray layerCache, PtNDArray keysValues);

        /** Rows {@code [start, start + n)}: one slice assignment. */
        static CacheWrite at(int start, int n, LlamaConfig c) {
            long[] from = {0, start};
            long[] to = {2L * c.numKvHeads(), start + (long) n};
            return (cache, kv) -> Torch.set(cache, kv, from, to);
        }

        /** The rows a device tensor of int64 holds: what a captured graph needs, as its rows change per replay. */
        static CacheWrite rows(PtNDArray rows) {
            NDIndex index = new NDIndex(":, {}", rows);
            return (cache, kv) -> Torch.put(cache, index, kv);
        }
    }

    /**
     * One decoder layer over the n new tokens of B sequences. Host time per PyTorch operation (views included)
     * dominates small models and single-token steps on a GPU when the pass runs eagerly, so the layer is written for
     * few operations: single-dimension slices rather than multi-dimensional indexing, batched matmuls, and the
     * RMSNorm folded into one norm and one division (see {@link LlamaWeights}).
     *
     * @param cos the RoPE cosines of each token and head, [n, heads, headDim] (1 for v heads)
     * @param sin the RoPE sines, likewise (0 for v heads)
     * @param mask additive attention mask [B, n/B, L] or, for one sequence, [n, L]: one row per token, which the g
     *     query heads of a group share (see {@link #masked}); null for one token per sequence attending to all its
     *     keys; when {@code fused}, that mask as {@link #fusedMask} lays it out
     * @param kernel whether attention runs as the helper's tree-attention kernel ({@link #treeKernel})
     * @param fused whether attention runs as libtorch's fused kernel ({@link #fusedAttention})
     * @param layerCache this layer's cache, [2·kvHeads, rows, headDim]
     */
    private PtNDArray layer(int l, PtNDArray h, PtNDArray cos, PtNDArray sin, PtNDArray mask, boolean kernel,
            boolean fused, PtNDArray layerCache, CacheWrite write, Keys keys, int n) {
        LlamaConfig c = config;
        int hd = c.headDim();
        int qH = c.numHeads();
        int kvH = c.numKvHeads();
        int g = c.groupSize();
        int heads = qH + 2 * kvH;
        int b = keys.sequences();
        PtNDArray qkv = Torch.reshape(
                linear(normalized(h), (PtNDArray) weights.qkv[l], (PtNDArray) weights.qkvBias[l], n),
                new long[] {n, heads, hd});
        // RoPE on every head at once: x·cos + rotate_half(x)·sin, the half rotation one small matmul; v heads
        // have cos 1 and sin 0.
        PtNDArray roped = Torch.add(Torch.mul(qkv, cos), Torch.mul(Torch.matmul(qkv, (PtNDArray) rotateHalf), sin));
        write.into(layerCache, Torch.permute(Torch.slice(roped, 1, qH, heads), KV_HEADS_FIRST));
        PtNDArray past = kernel ? keys.slotsOf(layerCache, h.getManager()) : keys.read(layerCache, h.getManager());
        PtNDArray pastKeys = Torch.slice(past, 0, 0, kvH);
        PtNDArray values = Torch.slice(past, 0, kvH, 2L * kvH);
        PtNDArray queries = Torch.slice(roped, 1, 0, qH);
        int rows = keys.attentionRows(n);
        if (keys.packing() != null) {
            queries = keys.packing().toPadded(queries, qH, hd);
        }
        PtNDArray o = kernel ? CudaGraphs.treeAttention(queries, pastKeys, values, mask, keys.slotTable(),
                BOUNDS ? keys.bounds() : null, WARPS)
                : groupedAttention(queries, pastKeys, values, mask, fused, b, rows / b, g, dtype);
        if (keys.packing() != null) {
            o = keys.packing().toPacked(o);
        }
        h = linear(o, (PtNDArray) weights.out[l], h, n); // residual add fused into the bias of addmm
        PtNDArray gu = linear(normalized(h), (PtNDArray) weights.gateUp[l], null, n);
        int inter = c.intermediateSize();
        PtNDArray gate = Torch.slice(gu, 1, 0, inter);
        PtNDArray up = Torch.slice(gu, 1, inter, 2L * inter);
        PtNDArray act = Torch.mul(Torch.mul(gate, Torch.sigmoid(gate)), up);
        return linear(act, (PtNDArray) weights.down[l], h, n);
    }

    /**
     * Attention with the query heads grouped under their kv heads: queries [B·t, qH, D] → token rows
     * [B·t, qH·D], the keys and values [kvH, B, L, D], the mask as {@link #layer} takes it; by libtorch's fused
     * kernel when {@code fused}, else by DJL's operators.
     */
    static PtNDArray groupedAttention(PtNDArray queries, PtNDArray keys, PtNDArray values, PtNDArray mask,
            boolean fused, int b, int t, int g, DataType dtype) {
        Shape k = keys.getShape();
        int kvH = (int) k.get(0);
        int hd = (int) k.get(3);
        PtNDArray q = grouped(queries, b, t, kvH, g, hd);
        return ungrouped(fused ? CudaGraphs.attention(q, keys, values, mask)
                : attention(q, keys, values, mask, b, g, dtype), b, t, kvH, g, hd);
    }

    /**
     * softmax(q·kᵀ + mask)·v, the way DJL's operators do it: q [kvH, B, g·t, D] ({@link #grouped}), keys and values
     * [kvH, B, L, D], mask as {@link #layer} takes it (null: none).
     */
    private static PtNDArray attention(PtNDArray q, PtNDArray keys, PtNDArray values, PtNDArray mask, int b, int g,
            DataType dtype) {
        PtNDArray scores = Torch.matmul(q, Torch.transpose(keys, 2, 3)); // [kvH, B, g·t, L]
        if (mask != null) {
            scores = masked(scores, mask, b, g);
        }
        // In f16 too: PyTorch's softmax kernels accumulate in f32 whatever the tensor's type.
        return Torch.matmul(Torch.softmax(scores, -1, dtype), values);
    }

    /**
     * Whether masked attention over {@link #FUSED_MIN_SEQUENCES} sequences or more runs as one fused kernel (the
     * native helper's, {@link CudaGraphs#attention}): on a GPU with the helper, unless
     * {@code -Daded.fusedAttention=false}. The four kernels it replaces (scores, mask, softmax, product with the
     * values) each take the scores through device memory: code-15m's 16-sequence passes spent 52 µs of their 177 µs
     * a layer in them, on an H100.
     */
    private boolean fusedAttention() {
        return FUSED && graphPool() != null;
    }

    /**
     * Whether attention runs as the helper's tree-attention kernel ({@link CudaGraphs#treeAttention}): on a GPU with
     * a helper that has it for this head dimension (built with nvcc), unless {@code -Daded.treeAttention=false}. One
     * launch a layer in place of the grouping copies and the four attention operators, for any number of sequences.
     * On an H100 (2026-12-07) 16 code-15m streams gave 34,289 tok/s with it against 26,990 without, one stream and
     * 64 streams the same within 2%.
     */
    synchronized boolean treeKernel() {
        graphPool(); // decides it, once: each batched pass asks
        return treeKernel;
    }

    private static final boolean TREE_KERNEL = Boolean.parseBoolean(System.getProperty("aded.treeAttention",
            "true"));
    /**
     * Whether batched passes tell the kernel where each sequence's keys, tokens and past end
     * ({@link Keys#bounds}); off ({@code -Daded.treeAttention.bounds=false}), it finds out from the mask alone, as
     * it did before: for measuring one against the other.
     */
    private static final boolean BOUNDS = Boolean.parseBoolean(System.getProperty("aded.treeAttention.bounds",
            "true"));
    /**
     * Whether the kernel runs in f16 in its warp layout ({@code -Daded.treeAttention.warps=true}; see
     * {@link CudaGraphs#treeAttention}): opt-in until a GPU has measured it against the block layout.
     */
    private static final boolean WARPS = Boolean.getBoolean("aded.treeAttention.warps");

    private static final boolean FUSED = Boolean.parseBoolean(System.getProperty("aded.fusedAttention", "true"));
    /**
     * The fused kernel (memory-efficient attention) runs a block per sequence, kv head and 64 query rows, each over
     * all of its keys: few sequences leave most of the GPU idle. On an H100 (2026-12-07) it took 38 µs a layer for
     * one code-15m sequence, where the four kernels take 15-26, and 59 µs for 64 sequences of 40 nodes, where they
     * took some 125 (the pass's kernels 2,169 µs against 2,698); 64 code-15m streams gave 47,134 tok/s fused against
     * 42,402, and 16 streams, whose passes hold 14 sequences, 25,138 against 30,387.
     */
    static final int FUSED_MIN_SEQUENCES = 32;

    /**
     * The mask [B, t, L] (or [t, L]) of one row per token as the fused kernel broadcasts it: [1, B, g·t, L], each
     * token's row repeated for the g query heads of its group, in {@link #grouped}'s row order. Made once a pass,
     * where {@link #masked} broadcasts per layer, because the kernel takes no broadcast within a dimension.
     */
    private PtNDArray fusedMask(PtNDArray mask, int b, int rows) {
        int g = config.groupSize();
        long t = rows / b;
        long keys = mask.getShape().get(mask.getShape().dimension() - 1);
        PtNDArray tiled = Torch.tile(Torch.reshape(mask, new long[] {b, 1, t, keys}), new long[] {1, g, 1, 1});
        return Torch.reshape(tiled, new long[] {1, b, g * t, keys});
    }

    /**
     * {@code x·Wᵀ + bias} over {@code rows} rows of x. On the CPU this runs as {@code (W·xᵀ)ᵀ}, one row as two (the
     * row twice, one column kept): libtorch's GEMM with the weights as its left operand took 2.0 ms for code-15m's
     * projections over 2 rows against 7.2 ms as a linear, and a linear of one row, a GEMV, 4.1 ms (2 threads, the
     * weights of all 8 layers, so read from memory as in a pass). The result is made contiguous, as later reshapes and
     * the logits' readers expect, and stays in x's manager, not the weights'.
     */
    private PtNDArray linear(PtNDArray x, PtNDArray w, PtNDArray bias, int rows) {
        if (!weightsLeft) {
            return Torch.linear(x, w, bias);
        }
        PtNDArray columns = Torch.transpose(rows == 1 ? Torch.tile(x, new long[] {2, 1}) : x, 0, 1);
        PtNDArray y = Torch.matmul(w, columns);
        y.attach(x.getManager());
        y = Torch.transpose(rows == 1 ? Torch.slice(y, 1, 0, 1) : y, 0, 1);
        if (bias != null) {
            y = Torch.add(y, bias);
        }
        return Torch.reshape(Torch.reshape(y, new long[] {-1}), new long[] {rows, -1});
    }

    /**
     * Queries [B·t, qH, D] of B sequences of t tokens, grouped under the kv head they share (HF's repeat_kv order),
     * rows ordered (group, token): [kvH, B, g·t, D], the keys' head-major order. One token of one sequence needs no
     * permute, and single tokens are every step of plain decoding.
     */
    private static PtNDArray grouped(PtNDArray q, int b, int t, int kvH, int g, int hd) {
        if (t == 1 && b == 1) {
            return Torch.reshape(q, new long[] {kvH, 1, g, hd});
        }
        return Torch.reshape(Torch.permute(Torch.reshape(q, new long[] {b, t, kvH, g, hd}),
                new long[] {2, 0, 3, 1, 4}), new long[] {kvH, b, (long) g * t, hd});
    }

    /** The inverse of {@link #grouped}: attention outputs [kvH, B, g·t, D] back to token rows [B·t, qH·D]. */
    private static PtNDArray ungrouped(PtNDArray o, int b, int t, int kvH, int g, int hd) {
        long width = (long) kvH * g * hd;
        if (t == 1 && b == 1) {
            return Torch.reshape(o, new long[] {1, width});
        }
        return Torch.reshape(Torch.permute(Torch.reshape(o, new long[] {kvH, b, g, t, hd}),
                new long[] {1, 3, 0, 2, 4}), new long[] {(long) b * t, width});
    }

    /**
     * Scores {@code [kvH, B, g·t, L]} plus a mask of one row per token, {@code [B, t, L]} or {@code [t, L]}: seen as
     * {@code [kvH, B, g, t, L]} (the {@link #grouped} row order), the scores take the mask by broadcasting, where
     * tiling it g times cost a copy per pass and g times its memory.
     */
    private static PtNDArray masked(PtNDArray scores, PtNDArray mask, int b, int g) {
        if (g == 1) {
            return Torch.add(scores, mask);
        }
        Shape s = scores.getShape();
        long t = s.get(2) / g;
        PtNDArray grouped = Torch.reshape(scores, new long[] {s.get(0), b, g, t, s.get(3)});
        PtNDArray rows = Torch.reshape(mask, new long[] {b, 1, t, s.get(3)});
        return Torch.reshape(Torch.add(grouped, rows), s.getShape());
    }

    /** [n, heads, D] → [heads, n, D]: new keys and values in the cache's head-major order. */
    private static final long[] KV_HEADS_FIRST = {1, 0, 2};

    /**
     * h / ‖h‖ over the hidden dimension: with the constant column and the folded weights, RMSNorm. Two operations
     * where {@code normalize} takes four (its clamp guards a zero norm, which the constant column rules out).
     */
    static PtNDArray normalized(PtNDArray h) {
        return Torch.div(h, Torch.norm(h, LAST_AXIS));
    }

    private static final int[] LAST_AXIS = {-1};

    @Override
    public void close() {
        synchronized (this) {
            if (batch != null) {
                batch.close();
                slots.close();
            }
            if (graphs != null) {
                graphs.close();
            }
        }
        manager.close();
    }
}
