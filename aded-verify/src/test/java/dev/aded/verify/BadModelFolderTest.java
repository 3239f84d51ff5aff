package dev.aded.verify;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way a model folder can be wrong gives an {@link IllegalArgumentException} whose message names the file (and
 * the tensor, where one is at fault) and the problem, before any native code sees a bad size. The fixtures are the
 * golden test models with one thing broken each.
 */
class BadModelFolderTest {
    private static final Path GOLDEN = Path.of("src", "test", "resources", "golden");

    @TempDir
    Path tmp;

    /** A writable copy of a golden model folder. */
    private Path copy(String variant) throws IOException {
        Path dir = tmp.resolve(variant);
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(GOLDEN.resolve(variant))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private Path model() throws IOException {
        return copy("llama-gqa-untied");
    }

    /** Loads the folder, expecting a clear refusal; returns the message after checking it names {@code file}. */
    private static String loadError(Path dir, Path file) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaModel.load(dir, Device.cpu()).close());
        String msg = e.getMessage();
        assertTrue(msg.contains(file.toString()), "message does not name " + file + ": " + msg);
        return msg;
    }

    private static void assertMentions(String msg, String... parts) {
        for (String p : parts) {
            assertTrue(msg.contains(p), "expected '" + p + "' in: " + msg);
        }
    }

    private static void editConfig(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve("config.json");
        JsonObject c = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(c);
        Files.writeString(file, c.toString());
    }

    /** Rewrites a safetensors file's JSON header, keeping its data bytes as they are. */
    private static void editHeader(Path file, Consumer<JsonObject> edit) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int len = (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        JsonObject header = JsonParser.parseString(new String(bytes, 8, len, StandardCharsets.UTF_8))
                .getAsJsonObject();
        edit.accept(header);
        writeSafetensors(file, header.toString().getBytes(StandardCharsets.UTF_8),
                Arrays.copyOfRange(bytes, 8 + len, bytes.length));
    }

    private static void writeSafetensors(Path file, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        Files.write(file, b.array());
    }

    @Test
    void aMissingFolder() {
        Path dir = tmp.resolve("no-such-model");
        assertMentions(loadError(dir, dir), "does not exist");
    }

    @Test
    void aMissingConfig() throws IOException {
        Path dir = model();
        Files.delete(dir.resolve("config.json"));
        assertMentions(loadError(dir, dir.resolve("config.json")), "missing");
    }

    @Test
    void aConfigThatIsNotJson() throws IOException {
        Path dir = model();
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"model_type\": \"llama\", \"hidden_size\": ");
        assertMentions(loadError(dir, config), "not valid JSON");
        Files.writeString(config, "[\"llama\"]");
        assertMentions(loadError(dir, config), "not a JSON object");
    }

    @Test
    void aConfigMissingARequiredField() throws IOException {
        Path dir = model();
        editConfig(dir, c -> c.remove("hidden_size"));
        assertMentions(loadError(dir, dir.resolve("config.json")), "missing \"hidden_size\"");
    }

    @Test
    void aConfigFieldOfTheWrongTypeOrValue() throws IOException {
        Path dir = model();
        Path config = dir.resolve("config.json");
        editConfig(dir, c -> c.addProperty("num_hidden_layers", "two"));
        assertMentions(loadError(dir, config), "\"num_hidden_layers\"", "two");
        editConfig(dir, c -> {
            c.addProperty("num_hidden_layers", 2);
            c.addProperty("num_attention_heads", 0);
            c.remove("head_dim");
        });
        assertMentions(loadError(dir, config), "num_attention_heads");
        editConfig(dir, c -> {
            c.addProperty("num_attention_heads", 4);
            c.addProperty("intermediate_size", -96);
        });
        assertMentions(loadError(dir, config), "intermediate_size");
        editConfig(dir, c -> {
            c.addProperty("intermediate_size", 96);
            c.addProperty("rope_parameters", "fast");
        });
        assertMentions(loadError(dir, config), "rope_parameters");
    }

    @Test
    void anUnsupportedModelType() throws IOException {
        Path dir = model();
        editConfig(dir, c -> c.addProperty("model_type", "gpt2"));
        assertMentions(loadError(dir, dir.resolve("config.json")), "unsupported model_type 'gpt2'", "llama");
    }

    @Test
    void aContextTooLongForTheRopeTables() throws IOException {
        Path dir = model();
        // 2^30 positions × 16 dims: more floats than one Java array holds; must not wrap around to a small table.
        editConfig(dir, c -> c.addProperty("max_position_embeddings", 1 << 30));
        assertMentions(loadError(dir, dir.resolve("config.json")), "max_position_embeddings");
    }

    @Test
    void missingWeights() throws IOException {
        Path dir = model();
        Files.delete(dir.resolve("model.safetensors"));
        assertMentions(loadError(dir, dir), "model.safetensors", "model.safetensors.index.json");
    }

    @Test
    void aShardIndexNamingAMissingFile() throws IOException {
        Path dir = copy("llama-sharded");
        Path shard = dir.resolve("model-00003-of-00006.safetensors");
        Files.delete(shard);
        String msg = loadError(dir, dir.resolve("model.safetensors.index.json"));
        assertMentions(msg, shard.toString(), "does not exist");
    }

    @Test
    void aShardIndexThatIsMalformed() throws IOException {
        Path dir = copy("llama-sharded");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\": [\"model-00001-of-00006.safetensors\"]}");
        assertMentions(loadError(dir, index), "weight_map");
        Files.writeString(index, "{\"weight_map\": {\"model.norm.weight\": {\"file\": 3}}}");
        assertMentions(loadError(dir, index), "model.norm.weight");
    }

    @Test
    void aTensorOfTheWrongShapeForTheConfig() throws IOException {
        Path dir = model();
        editConfig(dir, c -> c.addProperty("intermediate_size", 128));
        String msg = loadError(dir, dir.resolve("model.safetensors"));
        assertMentions(msg, "mlp.gate_proj.weight", "[96, 64]", "[128, 64]");
    }

    @Test
    void aTensorWhoseHeaderShapeIsWrong() throws IOException {
        Path dir = model();
        Path weights = dir.resolve("model.safetensors");
        // Same number of elements, so the byte range still matches: only the shape check can catch it.
        editHeader(weights, h -> h.getAsJsonObject("model.layers.1.self_attn.o_proj.weight")
                .add("shape", JsonParser.parseString("[32, 128]")));
        assertMentions(loadError(dir, weights), "model.layers.1.self_attn.o_proj.weight", "[32, 128]");
    }

    @Test
    void aMissingTensor() throws IOException {
        Path dir = model();
        Path weights = dir.resolve("model.safetensors");
        editHeader(weights, h -> h.remove("model.layers.1.mlp.down_proj.weight"));
        assertMentions(loadError(dir, dir), "no tensor model.layers.1.mlp.down_proj.weight");
    }

    @Test
    void aTruncatedWeightsFile() throws IOException {
        Path dir = model();
        Path weights = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(bytes, bytes.length - 1000));
        assertMentions(loadError(dir, weights), "truncated");
        Files.write(weights, Arrays.copyOf(bytes, 100));
        assertMentions(loadError(dir, weights), "truncated");
        Files.write(weights, Arrays.copyOf(bytes, 5));
        assertMentions(loadError(dir, weights), "truncated");
    }

    @Test
    void aWeightsFileThatIsNotSafetensors() throws IOException {
        Path dir = model();
        Path weights = dir.resolve("model.safetensors");
        Files.writeString(weights, "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 314712\n");
        assertMentions(loadError(dir, weights), "not a safetensors file");
    }

    @Test
    void aMalformedWeightsHeader() throws IOException {
        Path dir = model();
        Path weights = dir.resolve("model.safetensors");
        byte[] data = Arrays.copyOfRange(Files.readAllBytes(weights), 8, 200);
        writeSafetensors(weights, "{\"lm_head.weight\": {\"dtype\": ".getBytes(StandardCharsets.UTF_8), data);
        assertMentions(loadError(dir, weights), "malformed header");
        editHeaderOf(dir, h -> h.getAsJsonObject("lm_head.weight").remove("dtype"));
        assertMentions(loadError(dir, weights), "malformed header", "lm_head.weight", "dtype");
        editHeaderOf(dir, h -> h.getAsJsonObject("lm_head.weight").addProperty("data_offsets", "0-32768"));
        assertMentions(loadError(dir, weights), "malformed header", "lm_head.weight");
        editHeaderOf(dir, h -> h.getAsJsonObject("lm_head.weight").add("shape",
                JsonParser.parseString("[128, \"sixty-four\"]")));
        assertMentions(loadError(dir, weights), "malformed header", "lm_head.weight");
        editHeaderOf(dir, h -> h.getAsJsonObject("lm_head.weight").addProperty("dtype", "I64"));
        assertMentions(loadError(dir, weights), "lm_head.weight", "unsupported tensor dtype I64");
    }

    /** Restores the golden weights file, then breaks its header with {@code edit}. */
    private static void editHeaderOf(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path weights = dir.resolve("model.safetensors");
        Files.copy(GOLDEN.resolve("llama-gqa-untied").resolve("model.safetensors"), weights,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        editHeader(weights, edit);
    }

    @Test
    void theUnbrokenCopyLoads() throws IOException {
        // The fixtures break a folder that is otherwise good: without this, a broken copy helper passes every test.
        LlamaModel.load(model(), Device.cpu()).close();
        LlamaModel.load(copy("llama-sharded"), Device.cpu()).close();
    }
}
