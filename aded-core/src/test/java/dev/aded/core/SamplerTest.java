package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};

    private static GenerationConfig.Builder b() {
        return GenerationConfig.builder();
    }

    private static Sampler sampler(GenerationConfig.Builder config) {
        return new Sampler(LOGITS.length, config.build());
    }

    private static void assertFollows(double[] p, Sampler s) {
        double[] f = frequencies(s, 100_000);
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    /** Frequencies over an even grid of u, which the inverse CDF must turn into exactly the distribution. */
    private static double[] frequencies(Sampler s, int draws) {
        double[] f = new double[LOGITS.length];
        s.load(LOGITS);
        for (int i = 0; i < draws; i++) {
            f[s.draw((i + 0.5) / draws)]++;
        }
        for (int i = 0; i < f.length; i++) {
            f[i] /= draws;
        }
        return f;
    }

    private static double[] softmax(double temperature, boolean[] keep) {
        double[] p = new double[LOGITS.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = keep[i] ? Math.exp(LOGITS[i] / temperature) : 0;
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        double[] f = frequencies(sampler(b().temperature(0.7)), 100_000);
        double[] p = softmax(0.7, new boolean[] {true, true, true, true, true});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void topKKeepsOnlyTheKBestTokens() {
        double[] f = frequencies(sampler(b().temperature(1).topK(2)), 100_000);
        double[] p = softmax(1.0, new boolean[] {true, true, false, false, false});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        // Softmax at T=1: 0.53, 0.20, 0.12, 0.03, 0.07 (rounded). p=0.7 needs tokens 0 and 1 (0.73).
        double[] f = frequencies(sampler(b().temperature(1).topP(0.7)), 100_000);
        double[] p = softmax(1.0, new boolean[] {true, true, false, false, false});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void tinyTemperatureBehavesLikeArgmax() {
        Sampler s = sampler(b().temperature(1e-3));
        s.load(LOGITS);
        for (double u : new double[] {0, 0.3, 0.999999}) {
            assertEquals(0, s.draw(u));
        }
        Sampler warm = sampler(b().temperature(1));
        warm.load(LOGITS);
        assertEquals(4, warm.draw(0.999999), "the top of the id-ordered CDF");
    }

    @Test
    void minPDropsTokensBelowItsShareOfTheLikeliest() {
        // Relative to token 0 at T=1: 1, 0.37, 0.22, 0.05, 0.14. min-p 0.2 keeps tokens 0, 1 and 2.
        assertFollows(softmax(1.0, new boolean[] {true, true, true, false, false}),
                sampler(b().temperature(1).minP(0.2)));
    }

    @Test
    void minPActsAfterTopPAsInHuggingFace() {
        // At T=1 the tokens by probability: 0 (0.56), 1 (0.21), 2 (0.13), 4 (0.08), 3 (0.03). Top-p 0.9 keeps 0, 1, 2
        // and 4 (0.97); min-p 0.1 keeps all of them (token 4 is 0.14 of token 0). Had min-p gone first, dropping
        // token 3 would shrink the mass top-p measures, and top-p would keep only 0, 1 and 2.
        assertFollows(softmax(1.0, new boolean[] {true, true, true, false, true}),
                sampler(b().temperature(1).topP(0.9).minP(0.1)));
        assertFollows(softmax(1.0, new boolean[] {true, true, true, false, false}),
                sampler(b().temperature(1).topP(0.9).minP(0.2)));
    }

    @Test
    void logprobsAreThoseOfTheProcessedDistribution() {
        Sampler s = sampler(b().temperature(0.5).topK(3));
        s.load(LOGITS);
        double[] p = softmax(0.5, new boolean[] {true, true, true, false, false});
        TokenLogprobs lp = s.logprobs(1, 4);
        assertEquals(1, lp.token());
        assertEquals(Math.log(p[1]), lp.logprob(), 1e-6);
        assertEquals(3, lp.top().size(), "only the kept tokens are listed");
        int[] expected = {0, 1, 2};
        for (int i = 0; i < 3; i++) {
            assertEquals(expected[i], lp.top().get(i).token());
            assertEquals(Math.log(p[expected[i]]), lp.top().get(i).logprob(), 1e-6);
        }
        assertEquals(Double.NEGATIVE_INFINITY, s.logprob(3), "a token top-k cut has probability 0");
    }

    @Test
    void greedyLogprobsAreTheSoftmaxOfTheLogitsWithTiesToTheLowerId() {
        float[] tied = {0.5f, 3.0f, 1.0f, 3.0f, 1.0f};
        Sampler s = new Sampler(tied.length, GenerationConfig.defaults());
        s.load(tied);
        double sum = 0;
        for (float x : tied) {
            sum += Math.exp(x);
        }
        TokenLogprobs lp = s.logprobs(1, 3);
        assertEquals(3.0 - Math.log(sum), lp.logprob(), 1e-6);
        assertEquals(List.of(1, 3, 2), lp.top().stream().map(TokenLogprobs.Alternative::token).toList());
        assertEquals(1, Sampler.argmax(tied));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokensOnce() {
        RepetitionPenalty penalty = new RepetitionPenalty(5, 2.0, new int[] {0, 3, 0});
        float[] row = LOGITS.clone();
        penalty.apply(row);
        assertArrayEquals(new float[] {1.0f, 1.0f, 0.5f, -2.0f, 0.0f}, row);
        penalty.add(1);
        penalty.add(1);
        row = LOGITS.clone();
        penalty.apply(row);
        assertArrayEquals(new float[] {1.0f, 0.5f, 0.5f, -2.0f, 0.0f}, row);
    }
}
