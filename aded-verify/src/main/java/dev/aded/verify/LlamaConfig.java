package dev.aded.verify;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The shape of a Llama-family model, read from a Hugging Face {@code config.json} (model types {@code llama},
 * {@code mistral} and {@code qwen2}) plus end-of-sequence ids from {@code generation_config.json}.
 *
 * <p>RoPE may be given the old way (top-level {@code rope_theta} and {@code rope_scaling}) or the new way
 * ({@code rope_parameters} holding {@code rope_theta}, {@code rope_type} and the scaling fields); both are read.
 */
public record LlamaConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        int maxPositions,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        RopeScaling rope,
        int[] eosTokenIds) {

    private static final Set<String> SUPPORTED = Set.of("llama", "mistral", "qwen2");

    /** RoPE frequencies: base theta and an optional scaling of type {@code linear} or {@code llama3}. */
    public record RopeScaling(double theta, String type, double factor, double lowFreqFactor,
            double highFreqFactor, int originalMaxPositions) {

        static RopeScaling plain(double theta) {
            return new RopeScaling(theta, "default", 1, 0, 0, 0);
        }
    }

    public LlamaConfig {
        require(vocabSize > 0, "vocab_size must be positive");
        require(hiddenSize > 0 && numLayers > 0 && numHeads > 0, "hidden_size, num_hidden_layers and"
                + " num_attention_heads must be positive");
        require(numKvHeads > 0 && numHeads % numKvHeads == 0,
                "num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even, got " + headDim);
        require(intermediateSize > 0, "intermediate_size must be positive, got " + intermediateSize);
        require(rmsNormEps >= 0 && Double.isFinite(rmsNormEps), "rms_norm_eps must be a finite number >= 0, got "
                + rmsNormEps);
        require(maxPositions > 0, "max_position_embeddings must be positive, got " + maxPositions);
        // The RoPE table is one Java array of 4·head_dim floats per position: past 2^31 entries its size would wrap.
        require((long) maxPositions * 4 * headDim < Integer.MAX_VALUE - 8, "max_position_embeddings (" + maxPositions
                + ") x head_dim (" + headDim + ") is too large: the RoPE table would exceed 2^31 entries");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** The number of weights in the checkpoint: embeddings, layers, final norm and (untied) output head. */
    public long parameters() {
        long d = hiddenSize;
        long q = (long) numHeads * headDim;
        long kv = (long) numKvHeads * headDim;
        long layer = d * (q + 2 * kv) + q * d + 3 * d * intermediateSize + 2 * d + (attentionBias ? q + 2 * kv : 0);
        return vocabSize * d * (tieWordEmbeddings ? 1 : 2) + numLayers * layer + d;
    }

    /**
     * Reads {@code config.json} and {@code generation_config.json} (if present) of a model folder.
     *
     * @throws IllegalArgumentException naming the file and the problem
     */
    public static LlamaConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        JsonObject c = readJson(file);
        try {
            LlamaConfig base = parse(c);
            int[] eos = base.eosTokenIds;
            Path gen = modelDir.resolve("generation_config.json");
            if (Files.isRegularFile(gen)) {
                JsonObject g = readJson(gen);
                if (g.has("eos_token_id") && !g.get("eos_token_id").isJsonNull()) {
                    eos = ids(g.get("eos_token_id"));
                }
            }
            return base.withEos(eos);
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException
                | ClassCastException | NullPointerException | ArithmeticException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static JsonObject readJson(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(file + " is not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("missing " + file, e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Parses the fields of a {@code config.json} object. */
    public static LlamaConfig parse(JsonObject c) {
        String type = string(c, "model_type");
        if (!SUPPORTED.contains(type)) {
            throw new IllegalArgumentException("unsupported model_type '" + type + "' (supported: llama, mistral,"
                    + " qwen2)");
        }
        int hidden = integer(c, "hidden_size");
        int heads = integer(c, "num_attention_heads");
        int kvHeads = optionalInteger(c, "num_key_value_heads", heads);
        // With no heads the division has no answer; the constructor then names num_attention_heads.
        int headDim = optionalInteger(c, "head_dim", heads > 0 ? hidden / heads : 0);
        boolean bias = "qwen2".equals(type) || (c.has("attention_bias") && c.get("attention_bias").getAsBoolean());
        boolean tied = c.has("tie_word_embeddings") ? c.get("tie_word_embeddings").getAsBoolean()
                : "qwen2".equals(type);
        int[] eos = c.has("eos_token_id") && !c.get("eos_token_id").isJsonNull() ? ids(c.get("eos_token_id"))
                : new int[0];
        return new LlamaConfig(type, integer(c, "vocab_size"), hidden, integer(c, "intermediate_size"),
                integer(c, "num_hidden_layers"), heads, kvHeads, headDim,
                c.has("rms_norm_eps") ? c.get("rms_norm_eps").getAsDouble() : 1e-6,
                optionalInteger(c, "max_position_embeddings", 2048), tied, bias,
                rope(c), eos);
    }

    private static RopeScaling rope(JsonObject c) {
        JsonObject params = optionalObject(c, "rope_parameters");
        double theta = params != null && params.has("rope_theta") ? params.get("rope_theta").getAsDouble()
                : c.has("rope_theta") ? c.get("rope_theta").getAsDouble() : 10000.0;
        JsonObject scaling = optionalObject(c, "rope_scaling");
        scaling = scaling != null ? scaling : params;
        if (scaling == null) {
            return RopeScaling.plain(theta);
        }
        String type = scaling.has("rope_type") ? scaling.get("rope_type").getAsString()
                : scaling.has("type") ? scaling.get("type").getAsString() : "default";
        switch (type) {
            case "default":
                return RopeScaling.plain(theta);
            case "linear":
                return new RopeScaling(theta, type, number(scaling, "factor"), 0, 0, 0);
            case "llama3":
                return new RopeScaling(theta, type, number(scaling, "factor"), number(scaling, "low_freq_factor"),
                        number(scaling, "high_freq_factor"),
                        (int) number(scaling, "original_max_position_embeddings"));
            default:
                throw new IllegalArgumentException("unsupported rope type '" + type + "' (supported: default,"
                        + " linear, llama3)");
        }
    }

    private LlamaConfig withEos(int[] eos) {
        return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, rmsNormEps, maxPositions, tieWordEmbeddings, attentionBias, rope, eos);
    }

    private static int[] ids(JsonElement e) {
        if (e.isJsonArray()) {
            int[] out = new int[e.getAsJsonArray().size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = e.getAsJsonArray().get(i).getAsInt();
            }
            return out;
        }
        return new int[] {e.getAsInt()};
    }

    private static String string(JsonObject o, String key) {
        if (!o.has(key) || o.get(key).isJsonNull()) {
            throw new IllegalArgumentException("missing \"" + key + "\"");
        }
        return o.get(key).getAsString();
    }

    private static int integer(JsonObject o, String key) {
        if (!o.has(key) || o.get(key).isJsonNull()) {
            throw new IllegalArgumentException("missing \"" + key + "\"");
        }
        JsonElement e = o.get(key);
        OptionalLong v = wholeNumber(e);
        if (v.isEmpty() || v.getAsLong() != (int) v.getAsLong()) {
            throw new IllegalArgumentException("\"" + key + "\" must be an integer, got " + e);
        }
        return (int) v.getAsLong();
    }

    /**
     * A JSON whole number, exactly; empty for anything else (a fraction, text, an array, beyond a long). Gson's
     * getAsInt/getAsLong would wrap 2^32 + 64 around to 64 and cut 64.5 down without a word.
     */
    static OptionalLong wholeNumber(JsonElement e) {
        try {
            return OptionalLong.of(e.getAsBigDecimal().longValueExact());
        } catch (NumberFormatException | ArithmeticException | IllegalStateException
                | UnsupportedOperationException ex) {
            return OptionalLong.empty();
        }
    }

    private static int optionalInteger(JsonObject o, String key, int absent) {
        return o.has(key) && !o.get(key).isJsonNull() ? integer(o, key) : absent;
    }

    private static JsonObject optionalObject(JsonObject o, String key) {
        if (!o.has(key) || o.get(key).isJsonNull()) {
            return null;
        }
        if (!o.get(key).isJsonObject()) {
            throw new IllegalArgumentException("\"" + key + "\" must be an object, got " + o.get(key));
        }
        return o.getAsJsonObject(key);
    }

    private static double number(JsonObject o, String key) {
        if (!o.has(key) || o.get(key).isJsonNull()) {
            throw new IllegalArgumentException("rope scaling is missing \"" + key + "\"");
        }
        return o.get(key).getAsDouble();
    }

    /**
     * The inverse frequencies of RoPE, one per pair of head dimensions, after scaling (as Hugging Face's
     * {@code _compute_default_rope_parameters}, linear and {@code _compute_llama3_parameters}), in float32 as
     * there, so that positions far into the context get the same angles.
     */
    public float[] inverseFrequencies() {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1f / (float) Math.pow(rope.theta(), (float) (2 * i) / headDim);
        }
        if ("linear".equals(rope.type())) {
            for (int i = 0; i < half; i++) {
                inv[i] /= (float) rope.factor();
            }
        } else if ("llama3".equals(rope.type())) {
            double lowWavelen = rope.originalMaxPositions() / rope.lowFreqFactor();
            double highWavelen = rope.originalMaxPositions() / rope.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) {
                    inv[i] /= (float) rope.factor();
                } else if (wavelen >= highWavelen) {
                    double smooth = (rope.originalMaxPositions() / wavelen - rope.lowFreqFactor())
                            / (rope.highFreqFactor() - rope.lowFreqFactor());
                    inv[i] = (float) ((1 - smooth) * inv[i] / rope.factor() + smooth * inv[i]);
                }
            }
        }
        return inv;
    }
}
