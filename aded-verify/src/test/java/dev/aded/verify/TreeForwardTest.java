package dev.aded.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import dev.aded.core.text.Tokenizer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A tree pass must give every node the logits the token-by-token pass gives it, and commit an exact cache. */
class TreeForwardTest {
    static final Path MODEL = Path.of("..", "aded-examples", "models", "code-15m");
    private static LlamaModel model;
    private static int[] prompt;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(MODEL, Device.cpu());
        try (Tokenizer t = Tokenizer.load(MODEL)) {
            prompt = t.encode("def binary_search(items, target):\n    lo, hi = 0, len(items) - 1\n");
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Logits after each token of {@code seq}, one token per pass. */
    private static float[] sequentialLogits(int[] seq) {
        float[] row = new float[model.vocabSize()];
        try (ModelSession s = model.newSession(seq.length + 1)) {
            s.prefill(seq, 0, seq.length - 1);
            DraftTree root = new DraftTree(1);
            root.reset(seq[seq.length - 1]);
            s.forward(root).logits(0, row);
        }
        return row;
    }

    @Test
    void everyNodeOfRandomTreesMatchesTheSequentialPass() {
        Random random = new Random(3);
        float[] row = new float[model.vocabSize()];
        for (int trial = 0; trial < 3; trial++) {
            DraftTree tree = new DraftTree(24);
            tree.reset(prompt[prompt.length - 1]);
            while (tree.size() < 24) {
                int parent = random.nextInt(tree.size());
                int token = 3 + random.nextInt(model.vocabSize() - 3);
                if (tree.child(parent, token) < 0) {
                    tree.add(parent, token, 0.5f);
                }
            }
            try (ModelSession s = model.newSession(prompt.length + 24)) {
                s.prefill(prompt, 0, prompt.length - 1);
                TreeLogits out = s.forward(tree);
                for (int node = 0; node < tree.size(); node++) {
                    int[] path = pathTo(tree, node);
                    float[] expected = sequentialLogits(path);
                    out.logits(node, row);
                    assertClose(expected, row, 2e-3f, "node " + node + " of trial " + trial);
                    assertEquals(argmax(expected), out.argmax(node), "argmax of node " + node);
                }
            }
        }
    }

    @Test
    void commitKeepsExactlyTheAcceptedPath() {
        DraftTree tree = new DraftTree(8);
        tree.reset(prompt[prompt.length - 1]);
        int a = tree.add(0, 100, 0.5f);
        tree.add(0, 200, 0.5f);
        int b = tree.add(a, 300, 0.5f);
        tree.add(a, 400, 0.5f);
        int c = tree.add(b, 500, 0.5f);
        float[] row = new float[model.vocabSize()];
        try (ModelSession s = model.newSession(prompt.length + 16)) {
            s.prefill(prompt, 0, prompt.length - 1);
            s.forward(tree);
            s.commit(new int[] {0, a, b, c}, 4);
            assertEquals(prompt.length + 3, s.cachedLength());
            DraftTree next = new DraftTree(1);
            next.reset(7);
            s.forward(next).logits(0, row);
        }
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + 4);
        seq[prompt.length] = 100;
        seq[prompt.length + 1] = 300;
        seq[prompt.length + 2] = 500;
        seq[prompt.length + 3] = 7;
        assertClose(sequentialLogits(seq), row, 2e-3f, "after commit");
    }

    /** A path of more kept rows than a graph moves: the next pass moves them eagerly first. */
    @Test
    void commitOfMoreMovesThanAPassTakesKeepsThePath() {
        int deep = RowMoves.MAX + 8;
        DraftTree tree = new DraftTree(deep + 2);
        tree.reset(prompt[prompt.length - 1]);
        tree.add(0, 900, 0.5f); // a sibling first, so that every node of the kept chain sits one row past its place
        int[] path = new int[deep + 1];
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + deep + 1);
        for (int i = 1; i <= deep; i++) {
            int token = 100 + 7 * i;
            path[i] = tree.add(path[i - 1], token, 0.5f);
            seq[prompt.length + i - 1] = token;
        }
        seq[prompt.length + deep] = 7;
        float[] row = new float[model.vocabSize()];
        try (ModelSession s = model.newSession(prompt.length + deep + 8)) {
            s.prefill(prompt, 0, prompt.length - 1);
            s.forward(tree);
            s.commit(path, deep + 1);
            DraftTree next = new DraftTree(1);
            next.reset(7);
            s.forward(next).logits(0, row);
        }
        assertClose(sequentialLogits(seq), row, 2e-3f, "after a commit of " + deep + " moves");
    }

    private static int[] pathTo(DraftTree tree, int node) {
        int depth = tree.depth(node);
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + depth);
        for (int n = node; n > 0; n = tree.parent(n)) {
            seq[prompt.length + tree.depth(n) - 1] = tree.token(n);
        }
        return seq;
    }

    static void assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length);
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tol, what + ": max |diff| " + worst);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
