package dev.aded.verify;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Llama model's weights on the device, rearranged at load time so each decoder layer needs few operations.
 *
 * <p>Three rewrites, all exact in real arithmetic:
 * <ul>
 *   <li><b>Fused projections.</b> q, k and v are one matrix (q rows pre-scaled by 1/√headDim, so attention needs no
 *       separate scaling), gate and up are another.
 *   <li><b>RMSNorm as a plain L2 normalisation.</b> The hidden state carries extra columns, the first holding the
 *       constant c = √(d·eps), so h / ‖h‖ = h / √(‖x‖² + d·eps) ({@code LlamaModel.normalized}: a norm and a
 *       division). A following linear layer whose weight is W·diag(w)·√d with zero extra columns then gets
 *       W·(w ⊙ x / √(mean(x²) + eps)): exactly RMSNorm then the projection. Projections that write back into
 *       the residual stream get zero extra rows, so c survives every residual add. The extra columns are
 *       {@link #EXTRA} wide, c and zeros, so that the width stays a multiple of 8: f16 tensor-core GEMMs need it,
 *       and with one extra column a 64-token pass of a 7B model ran 10 times slower on an H100.
 * </ul>
 * The q/k/v matrix keeps the checkpoint's size: an earlier layout held every head twice, as is and rotated half,
 * which saved two operations a layer when each cost host time, but made a token read 24% more weight bytes (7B
 * shape), what bounds a step once CUDA graphs take the host out ({@code LlamaModel.layer} rotates instead).
 */
final class LlamaWeights implements AutoCloseable {
    /** Extra hidden-state columns: the constant c, then zeros. */
    static final int EXTRA = 8;

    final NDArray embed;
    final NDArray lmHead;
    final NDArray[] qkv;
    final NDArray[] qkvBias;
    final NDArray[] out;
    final NDArray[] gateUp;
    final NDArray[] down;
    private final NDManager manager;

    private LlamaWeights(NDManager manager, NDArray embed, NDArray lmHead, NDArray[] qkv, NDArray[] qkvBias,
            NDArray[] out, NDArray[] gateUp, NDArray[] down) {
        this.manager = manager;
        this.embed = embed;
        this.lmHead = lmHead;
        this.qkv = qkv;
        this.qkvBias = qkvBias;
        this.out = out;
        this.gateUp = gateUp;
        this.down = down;
    }

    /** Where the raw Hugging Face tensors come from: a checkpoint, or random numbers for benchmarks. */
    interface Source {
        /** The tensor called {@code name} with the given shape, as {@code dtype} on the manager's device. */
        NDArray get(String name, long[] shape, NDManager m, DataType dtype);

        boolean has(String name);
    }

    static LlamaWeights build(LlamaConfig c, Source src, NDManager manager, DataType dtype) {
        int d = c.hiddenSize();
        int hd = c.headDim();
        int layers = c.numLayers();
        double sqrtD = Math.sqrt(d);
        NDArray[] qkv = new NDArray[layers];
        NDArray[] qkvBias = new NDArray[layers];
        NDArray[] out = new NDArray[layers];
        NDArray[] gateUp = new NDArray[layers];
        NDArray[] down = new NDArray[layers];
        long qRows = (long) c.numHeads() * hd;
        long kvRows = (long) c.numKvHeads() * hd;
        // One scope per layer: the raw tensors of a layer are freed before the next is read.
        for (int l = 0; l < layers; l++) {
            try (NDManager tmp = manager.newSubManager()) {
                String p = "model.layers." + l + ".";
                NDArray inNorm = src.get(p + "input_layernorm.weight", new long[] {d}, tmp, dtype);
                NDArray postNorm = src.get(p + "post_attention_layernorm.weight", new long[] {d}, tmp, dtype);
                float qScale = (float) (1 / Math.sqrt(hd));
                NDArray q = src.get(p + "self_attn.q_proj.weight", new long[] {qRows, d}, tmp, dtype).mul(qScale);
                NDArray k = src.get(p + "self_attn.k_proj.weight", new long[] {kvRows, d}, tmp, dtype);
                NDArray v = src.get(p + "self_attn.v_proj.weight", new long[] {kvRows, d}, tmp, dtype);
                qkv[l] = keep(manager, normInput(q.concat(k).concat(v), inNorm, sqrtD));
                if (c.attentionBias()) {
                    NDArray qb = src.get(p + "self_attn.q_proj.bias", new long[] {qRows}, tmp, dtype).mul(qScale);
                    NDArray kb = src.get(p + "self_attn.k_proj.bias", new long[] {kvRows}, tmp, dtype);
                    NDArray vb = src.get(p + "self_attn.v_proj.bias", new long[] {kvRows}, tmp, dtype);
                    qkvBias[l] = keep(manager, qb.concat(kb).concat(vb));
                }
                NDArray o = src.get(p + "self_attn.o_proj.weight", new long[] {d, qRows}, tmp, dtype);
                out[l] = keep(manager, residualOutput(o));
                NDArray gate = src.get(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), d}, tmp, dtype);
                NDArray up = src.get(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), d}, tmp, dtype);
                gateUp[l] = keep(manager, normInput(gate.concat(up), postNorm, sqrtD));
                NDArray dn = src.get(p + "mlp.down_proj.weight", new long[] {d, c.intermediateSize()}, tmp, dtype);
                down[l] = keep(manager, residualOutput(dn));
            }
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDArray emb = src.get("model.embed_tokens.weight", new long[] {c.vocabSize(), d}, tmp, dtype);
            float cValue = (float) Math.sqrt(d * c.rmsNormEps());
            NDArray extra = tmp.full(new Shape(c.vocabSize(), 1), cValue, dtype)
                    .concat(tmp.zeros(new Shape(c.vocabSize(), EXTRA - 1), dtype), 1);
            NDArray embed = keep(manager, emb.concat(extra, 1));
            NDArray head = c.tieWordEmbeddings() || !src.has("lm_head.weight") ? emb
                    : src.get("lm_head.weight", new long[] {c.vocabSize(), d}, tmp, dtype);
            NDArray finalNorm = src.get("model.norm.weight", new long[] {d}, tmp, dtype);
            NDArray lmHead = keep(manager, normInput(head, finalNorm, sqrtD));
            return new LlamaWeights(manager, embed, lmHead, qkv, qkvBias, out, gateUp, down);
        }
    }

    /** W·diag(w)·√d with zero columns appended for the hidden state's extra columns. */
    private static NDArray normInput(NDArray w, NDArray normWeight, double sqrtD) {
        NDArray scaled = w.mul(normWeight.mul((float) sqrtD).reshape(1, -1));
        return scaled.concat(scaled.getManager().zeros(new Shape(w.getShape().get(0), EXTRA), w.getDataType()), 1);
    }

    /** W with zero rows appended, so the residual stream's extra columns stay as they are. */
    private static NDArray residualOutput(NDArray w) {
        return w.concat(w.getManager().zeros(new Shape(EXTRA, w.getShape().get(1)), w.getDataType()), 0);
    }

    /** Moves a result out of the temporary scope into the model's manager. */
    private static NDArray keep(NDManager manager, NDArray a) {
        a.attach(manager);
        return a;
    }

    /**
     * Reads checkpoint tensors: F32, F16 or BF16, converted to the model's dtype (DJL has no bfloat16).
     *
     * @param modelDir the folder the tensors come from, named in errors
     */
    static Source checkpoint(Path modelDir, Map<String, SafetensorsFile.Entry> entries) {
        return new Source() {
            @Override
            public NDArray get(String name, long[] shape, NDManager m, DataType dtype) {
                SafetensorsFile.Entry e = entries.get(name);
                if (e == null) {
                    throw new IllegalArgumentException("the weights in " + modelDir + " have no tensor " + name);
                }
                if (!java.util.Arrays.equals(e.shape(), shape)) {
                    throw new IllegalArgumentException(e.file() + ": tensor " + name + " has shape "
                            + java.util.Arrays.toString(e.shape()) + ", " + modelDir.resolve("config.json")
                            + " needs " + java.util.Arrays.toString(shape));
                }
                NDManager cpu = m.newSubManager(Device.cpu());
                try {
                    NDArray raw = switch (e.dtype()) {
                        case "F32" -> cpu.create(e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN), new Shape(shape),
                                DataType.FLOAT32);
                        case "F16" -> cpu.create(e.data().duplicate().order(ByteOrder.LITTLE_ENDIAN), new Shape(shape),
                                DataType.FLOAT16);
                        case "BF16" -> cpu.create(bf16ToF32(e.data()), new Shape(shape), DataType.FLOAT32);
                        default -> throw new IllegalArgumentException("tensor " + name + " has dtype " + e.dtype());
                    };
                    NDArray result = raw.toDevice(m.getDevice(), true).toType(dtype, false);
                    result.attach(m);
                    return result;
                } finally {
                    cpu.close();
                }
            }

            @Override
            public boolean has(String name) {
                return entries.containsKey(name);
            }
        };
    }

    /** bfloat16 is the top half of a float32: widening is a shift, done here because DJL cannot hold bf16. */
    static ByteBuffer bf16ToF32(ByteBuffer bf16) {
        ShortBuffer in = bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ByteBuffer out = ByteBuffer.allocateDirect(in.remaining() * 4).order(ByteOrder.nativeOrder());
        while (in.hasRemaining()) {
            out.putInt((in.get() & 0xFFFF) << 16);
        }
        out.flip();
        return out;
    }

    /** Random weights (normal, std 0.02; norms at 1) made on the device, for benchmarks of model shapes. */
    static Source random(long seed) {
        ai.djl.engine.Engine.getEngine("PyTorch").setRandomSeed((int) seed);
        return new Source() {
            @Override
            public NDArray get(String name, long[] shape, NDManager m, DataType dtype) {
                if (name.endsWith("norm.weight")) {
                    return m.ones(new Shape(shape), dtype);
                }
                return m.randomNormal(0f, 0.02f, new Shape(shape), DataType.FLOAT32).toType(dtype, false);
            }

            @Override
            public boolean has(String name) {
                return false;
            }
        };
    }

    @Override
    public void close() {
        manager.close();
    }
}
