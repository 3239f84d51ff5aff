package dev.aded.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Logits equal Hugging Face transformers' (made by src/test/python/make_golden.py): tiny random models of every
 * supported config variant at every position of a 48-token sequence, and the real code-15m on dev prompts.
 */
class GoldenLogitsTest {
    private static final Path GOLDEN = Path.of("src", "test", "resources", "golden");

    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa-untied", "llama-tied-toplevel-rope", "llama-f16", "llama-bf16",
        "llama-head-dim", "llama-rope-linear", "llama-rope-llama3", "llama-sharded", "mistral", "qwen2-bias"})
    void everyPositionMatchesTransformers(String variant) throws IOException {
        Path dir = GOLDEN.resolve(variant);
        int[] ids = ids(JsonParser.parseString(Files.readString(dir.resolve("input_ids.json"))).getAsJsonArray());
        float[] expected = floats(dir.resolve("logits.f32"));
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu()); ModelSession s = model.newSession(ids.length)) {
            int vocab = model.vocabSize();
            // One pass over the whole sequence as a chain tree: node i is token i, attending to tokens 0..i.
            DraftTree chain = new DraftTree(ids.length);
            chain.reset(ids[0]);
            int node = 0;
            for (int i = 1; i < ids.length; i++) {
                node = chain.add(node, ids[i], 1f);
            }
            TreeLogits out = s.forward(chain);
            float[] row = new float[vocab];
            for (int i = 0; i < ids.length; i++) {
                out.logits(i, row);
                float[] want = java.util.Arrays.copyOfRange(expected, i * vocab, (i + 1) * vocab);
                TreeForwardTest.assertClose(want, row, 1e-3f * scale(want), variant + " position " + i);
                assertEquals(TreeForwardTest.argmax(want), out.argmax(i), variant + " argmax at " + i);
            }
        }
    }

    @Test
    void code15mMatchesTransformersOnDevPrompts() throws IOException {
        Path dir = GOLDEN.resolve("code-15m");
        JsonArray cases = JsonParser.parseString(Files.readString(dir.resolve("cases.json"))).getAsJsonArray();
        try (LlamaModel model = LlamaModel.load(TreeForwardTest.MODEL, Device.cpu())) {
            float[] row = new float[model.vocabSize()];
            for (int c = 0; c < cases.size(); c++) {
                int[] ids = ids(cases.get(c).getAsJsonObject().getAsJsonArray("input_ids"));
                try (ModelSession s = model.newSession(ids.length)) {
                    s.prefill(ids, 0, ids.length - 1);
                    DraftTree root = new DraftTree(1);
                    root.reset(ids[ids.length - 1]);
                    TreeLogits out = s.forward(root);
                    out.logits(0, row);
                    float[] want = floats(dir.resolve("prompt" + c + ".f32"));
                    TreeForwardTest.assertClose(want, row, 1e-3f * scale(want), "dev prompt " + c);
                    assertEquals(TreeForwardTest.argmax(want), out.argmax(0), "argmax of dev prompt " + c);
                }
            }
        }
    }

    /** Tolerance grows with the logits' magnitude: the folded weights sum in another order than transformers. */
    private static float scale(float[] v) {
        float max = 1;
        for (float x : v) {
            max = Math.max(max, Math.abs(x));
        }
        return max;
    }

    private static int[] ids(JsonArray a) {
        int[] out = new int[a.size()];
        int i = 0;
        for (JsonElement e : a) {
            out[i++] = e.getAsInt();
        }
        return out;
    }

    private static float[] floats(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }
}
