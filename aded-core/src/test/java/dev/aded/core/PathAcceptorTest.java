package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Acceptance over fixed per-node scores: the walk logic alone, without a model. */
class PathAcceptorTest {
    private static final int VOCAB = 4;

    /** Scores per tree node, as a verifier would return them. */
    private record FixedLogits(float[][] rows) implements TreeLogits {
        @Override
        public int argmax(int node) {
            int best = 0;
            for (int i = 1; i < VOCAB; i++) {
                if (rows[node][i] > rows[node][best]) {
                    best = i;
                }
            }
            return best;
        }

        @Override
        public void logits(int node, float[] out) {
            System.arraycopy(rows[node], 0, out, 0, VOCAB);
        }
    }

    /** root(0) → a:1 → b:2, root → c:3. */
    private static DraftTree tree() {
        DraftTree t = new DraftTree(4);
        t.reset(0);
        int a = t.add(0, 1, 0.6f);
        t.add(a, 2, 0.5f);
        t.add(0, 3, 0.2f);
        return t;
    }

    @Test
    void greedyFollowsTheArgmaxAndEndsWithTheBonusToken() {
        FixedLogits l = new FixedLogits(new float[][] {
            {0, 5, 0, 1}, {0, 0, 3, 0}, {4, 0, 0, 0}, {0, 0, 0, 0}});
        int[] path = new int[4];
        int[] tokens = new int[4];
        int n = new PathAcceptor(VOCAB, GenerationConfig.defaults(), new int[] {0})
                .accept(tree(), l, new SplittableRandom(1), path, tokens, null);
        assertEquals(3, n);
        assertArrayEquals(new int[] {0, 1, 2}, java.util.Arrays.copyOf(path, n));
        assertArrayEquals(new int[] {1, 2, 0}, java.util.Arrays.copyOf(tokens, n));
    }

    @Test
    void greedyStopsAtTheRootWhenNoChildMatches() {
        FixedLogits l = new FixedLogits(new float[][] {{0, 0, 9, 0}, {}, {}, {}});
        int[] path = new int[4];
        int[] tokens = new int[4];
        int n = new PathAcceptor(VOCAB, GenerationConfig.defaults(), new int[] {0})
                .accept(tree(), l, new SplittableRandom(1), path, tokens, null);
        assertEquals(1, n);
        assertEquals(2, tokens[0]);
    }

    /** The first emitted token must follow the model's distribution whatever the tree proposes. */
    @Test
    void samplingKeepsTheModelsDistributionAtTheRoot() {
        float[] root = {1.0f, 0.2f, -0.5f, 0.7f};
        FixedLogits l = new FixedLogits(new float[][] {root, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}});
        GenerationConfig cfg = GenerationConfig.builder().temperature(1.0).build();
        PathAcceptor acceptor = new PathAcceptor(VOCAB, cfg, new int[] {0});
        int[] counts = new int[VOCAB];
        int draws = 200_000;
        SplittableRandom random = new SplittableRandom(7);
        int[] path = new int[4];
        int[] tokens = new int[4];
        for (int i = 0; i < draws; i++) {
            acceptor.accept(tree(), l, random, path, tokens, null);
            counts[tokens[0]]++;
        }
        double sum = 0;
        for (float x : root) {
            sum += Math.exp(x);
        }
        double chi2 = 0;
        for (int i = 0; i < VOCAB; i++) {
            double expected = draws * Math.exp(root[i]) / sum;
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        // 3 degrees of freedom: the 99.9% quantile is 16.27.
        assertEquals(0, chi2, 16.27, "chi-square " + chi2 + " for counts " + java.util.Arrays.toString(counts));
    }

    /** Each node is penalised by the tokens above it on the path, not only by the committed context. */
    @Test
    void repetitionPenaltyFollowsThePathBeingVerified() {
        FixedLogits l = new FixedLogits(new float[][] {
            {0, 5, 0, 1}, {0, 3, 2.5f, 0}, {4, 0, 0, 0}, {0, 0, 0, 0}});
        GenerationConfig cfg = GenerationConfig.builder().repetitionPenalty(2).logprobs(true).topLogprobs(2).build();
        int[] path = new int[4];
        int[] tokens = new int[4];
        TokenLogprobs[] logprobs = new TokenLogprobs[4];
        // At node a, token 1 is in the context only through the path (1.5 after the penalty), so 2 (2.5) wins.
        int n = new PathAcceptor(VOCAB, cfg, new int[] {0})
                .accept(tree(), l, new SplittableRandom(1), path, tokens, logprobs);
        assertEquals(3, n);
        assertArrayEquals(new int[] {1, 2, 0}, java.util.Arrays.copyOf(tokens, n));
        double sum = Math.exp(1.5) + Math.exp(2.5) + 2;
        assertEquals(2.5 - Math.log(sum), logprobs[1].logprob(), 1e-6, "greedy logprobs: the penalised softmax");
        assertEquals(2, logprobs[1].top().get(0).token());
        assertEquals(1, logprobs[1].top().get(1).token());
    }
}
