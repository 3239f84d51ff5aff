package dev.aded.examples.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.verify.LlamaModel;
import dev.aded.core.Generator;
import java.util.List;

/**
 * Explains outputs that differ from plain decoding's: at the first differing token, how far apart the model's two
 * best logits were. In f16 a gap near zero means the tree pass and the single-token pass legitimately rounded to
 * different winners; a large gap would mean a bug.
 */
final class NearTies {
    private NearTies() {}

    /** One entry per prompt whose output differs from {@code ar}: prompt index, position, tokens and gap. */
    static JsonArray compare(Generator p, List<String> prompts, int[][] ar, int[][] other) {
        JsonArray diffs = new JsonArray();
        for (int i = 0; i < prompts.size(); i++) {
            int d = firstDifference(ar[i], other[i]);
            if (d < 0) {
                continue;
            }
            JsonObject o = new JsonObject();
            o.addProperty("prompt", i);
            o.addProperty("position", d);
            o.addProperty("ar_token", d < ar[i].length ? ar[i][d] : -1);
            o.addProperty("token", d < other[i].length ? other[i][d] : -1);
            float[] top = topTwo(p, p.tokenizer().encode(prompts.get(i)), ar[i], d);
            o.addProperty("top2_logit_gap", top[0] - top[1]);
            o.addProperty("top2_gap_ulps", (top[0] - top[1]) / ((LlamaModel) p.model()).ulp(top[0]));
            diffs.add(o);
        }
        return diffs;
    }

    static int firstDifference(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : n;
    }

    /** The two largest logits after {@code prompt + generated[0, position)}. */
    private static float[] topTwo(Generator p, int[] prompt, int[] generated, int position) {
        int len = prompt.length + position;
        int[] seq = new int[len];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(generated, 0, seq, prompt.length, position);
        float[] row = new float[p.model().vocabSize()];
        try (ModelSession s = p.model().newSession(len + 1)) {
            s.prefill(seq, 0, len - 1);
            DraftTree root = new DraftTree(1);
            root.reset(seq[len - 1]);
            s.forward(root).logits(0, row);
        }
        float best = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (float v : row) {
            if (v > best) {
                second = best;
                best = v;
            } else if (v > second) {
                second = v;
            }
        }
        return new float[] {best, second};
    }
}
