package dev.aded.verify;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.aded.core.ModelSession;
import dev.aded.core.TargetModel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Llama-family decoder (llama, mistral, qwen2) on DJL's PyTorch engine: f32 on the CPU, f16 on a GPU.
 *
 * <p>The forward pass of one decoder layer, over n new tokens whose keys and values join a cache of earlier ones:
 * <pre>
 *   x   = normalize(h)                          RMSNorm, folded into the next weights (see LlamaWeights)
 *   qkv = linear(x, Wqkv, b)  → [n, heads, D]   q, k and v heads in one matrix
 *   qkv = qkv·cos + (qkv·P)·sin                 RoPE; v heads get cos 1, sin 0
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
    /**
     * RoPE factors per position, [2·maxPos, 2·D]: row 2p holds cos then sin of position p for q/k heads, row 2p + 1
     * holds 1 then 0 for v heads, so that one gather serves every head.
     */
    final NDArray ropeTable;
    private final String name;

    private LlamaModel(String name, LlamaConfig config, NDManager manager, LlamaWeights weights, DataType dtype) {
        this.name = name;
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.dtype = dtype;
        this.device = manager.getDevice();
        this.ropeTable = ropeTable(config, manager, dtype);
    }

    /**
     * Loads a Hugging Face model folder: f32 on the CPU, f16 on a GPU.
     *
     * @throws IllegalArgumentException naming the file and the problem for a bad config or bad weights
     * @throws dev.aded.core.DeviceMemoryException when the device cannot hold the weights
     */
    public static LlamaModel load(Path modelDir, Device device) {
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("model folder " + modelDir + " does not exist");
        }
        LlamaConfig config = LlamaConfig.load(modelDir);
        DataType dtype = device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
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
        DataType dtype = device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
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
        return new LlamaSession(this, maxTokens);
    }

    /**
     * One decoder layer over the n new tokens. Host time per PyTorch operation (views included) dominates small
     * models and single-token steps on a GPU, so the layer is written for few operations: single-dimension slices
     * rather than multi-dimensional indexing, 3-D batched matmuls, and the RMSNorm folded into one norm and one
     * division (see {@link LlamaWeights}).
     *
     * @param rope the RoPE factors of each token and head, [n, heads, 2, headDim]
     * @param mask additive attention mask [g·n, cached + n], rows in {@link #grouped} order; null for one token,
     *     which attends to everything
     * @param layerCache this layer's cache rows, [capacity, 2·kvHeads, headDim]
     */
    PtNDArray layer(int l, PtNDArray h, PtNDArray rope, PtNDArray mask, PtNDArray layerCache,
            int cached, int n) {
        LlamaConfig c = config;
        int hd = c.headDim();
        int qH = c.numHeads();
        int kvH = c.numKvHeads();
        int g = c.groupSize();
        int heads = qH + 2 * kvH;
        int len = cached + n;
        // The projection gives every head twice, as is and rotated half (see LlamaWeights): RoPE is then one
        // multiply by [cos, sin] and a sum.
        PtNDArray qkv2 = JniUtils.reshape(
                JniUtils.linear(normalized(h), (PtNDArray) weights.qkv[l], (PtNDArray) weights.qkvBias[l]),
                new long[] {n, heads, 2, hd});
        PtNDArray roped = JniUtils.sum(JniUtils.mul(qkv2, rope), PAIR_AXIS, false); // [n, heads, D]
        JniUtils.indexSet(layerCache, JniUtils.slice(roped, 1, qH, heads, 1), new long[] {cached},
                new long[] {len}, ONE);
        PtNDArray past = JniUtils.slice(layerCache, 0, 0, len, 1); // [len, 2kvH, D]
        // Views of the cache would belong to the session's manager and pile up there: make this one, and what is
        // derived from it, the step's.
        past.attach(h.getManager());
        PtNDArray keysT = JniUtils.permute(JniUtils.slice(past, 1, 0, kvH, 1), new long[] {1, 2, 0}); // [kvH, D, len]
        PtNDArray values = JniUtils.permute(JniUtils.slice(past, 1, kvH, 2L * kvH, 1), new long[] {1, 0, 2});
        PtNDArray q = grouped(JniUtils.slice(roped, 1, 0, qH, 1), n, kvH, g, hd);
        PtNDArray scores = JniUtils.matmul(q, keysT); // [kvH, g·n, len]
        if (mask != null) {
            scores = JniUtils.add(scores, mask);
        }
        // In f16 too: PyTorch's softmax kernels accumulate in f32 whatever the tensor's type.
        PtNDArray o = ungrouped(JniUtils.matmul(JniUtils.softmax(scores, -1, dtype), values), n, kvH, g, hd);
        h = JniUtils.linear(o, (PtNDArray) weights.out[l], h); // residual add fused into the bias of addmm
        PtNDArray gu = JniUtils.linear(normalized(h), (PtNDArray) weights.gateUp[l], null);
        int inter = c.intermediateSize();
        PtNDArray gate = JniUtils.slice(gu, 1, 0, inter, 1);
        PtNDArray up = JniUtils.slice(gu, 1, inter, 2L * inter, 1);
        PtNDArray act = JniUtils.mul(JniUtils.mul(gate, JniUtils.sigmoid(gate)), up);
        return JniUtils.linear(act, (PtNDArray) weights.down[l], h);
    }

    /**
     * Queries [n, qH, D] grouped under the kv head they share (HF's repeat_kv order), rows ordered (group, token):
     * [kvH, g·n, D]. A single token needs no permute, and single tokens are every step of plain decoding.
     */
    private static PtNDArray grouped(PtNDArray q, int n, int kvH, int g, int hd) {
        if (n == 1) {
            return JniUtils.reshape(q, new long[] {kvH, g, hd});
        }
        return JniUtils.reshape(JniUtils.permute(JniUtils.reshape(q, new long[] {n, kvH, g, hd}),
                new long[] {1, 2, 0, 3}), new long[] {kvH, (long) g * n, hd});
    }

    /** The inverse of {@link #grouped}: attention outputs [kvH, g·n, D] back to token rows [n, qH·D]. */
    private static PtNDArray ungrouped(PtNDArray o, int n, int kvH, int g, int hd) {
        long width = (long) kvH * g * hd;
        if (n == 1) {
            return JniUtils.reshape(o, new long[] {1, width});
        }
        return JniUtils.reshape(JniUtils.permute(JniUtils.reshape(o, new long[] {kvH, g, n, hd}),
                new long[] {2, 0, 1, 3}), new long[] {n, width});
    }

    /**
     * h / ‖h‖ over the hidden dimension: with the constant column and the folded weights, RMSNorm. Two operations
     * where {@code normalize} takes four (its clamp guards a zero norm, which the constant column rules out).
     */
    static PtNDArray normalized(PtNDArray h) {
        return JniUtils.div(h, JniUtils.norm(h, 2, LAST_AXIS, true));
    }

    private static final long[] ONE = {1};
    private static final int[] LAST_AXIS = {-1};
    private static final long[] PAIR_AXIS = {2};

    @Override
    public void close() {
        manager.close();
    }
}
