package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};

    /** Frequencies over an even grid of u, which the inverse CDF must turn into exactly the distribution. */
    private static double[] frequencies(Sampler s, int draws) {
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < draws; i++) {
            f[s.sample(LOGITS, (i + 0.5) / draws)]++;
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
        double[] f = frequencies(new Sampler(5, 0.7, 0, 1.0), 100_000);
        double[] p = softmax(0.7, new boolean[] {true, true, true, true, true});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void topKKeepsOnlyTheKBestTokens() {
        double[] f = frequencies(new Sampler(5, 1.0, 2, 1.0), 100_000);
        double[] p = softmax(1.0, new boolean[] {true, true, false, false, false});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        // Softmax at T=1: 0.53, 0.20, 0.12, 0.03, 0.07 (rounded). p=0.7 needs tokens 0 and 1 (0.73).
        double[] f = frequencies(new Sampler(5, 1.0, 0, 0.7), 100_000);
        double[] p = softmax(1.0, new boolean[] {true, true, false, false, false});
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 1e-4, "token " + i);
        }
    }

    @Test
    void tinyTemperatureBehavesLikeArgmax() {
        Sampler s = new Sampler(5, 1e-3, 0, 1.0);
        for (double u : new double[] {0, 0.3, 0.999999}) {
            assertEquals(0, s.sample(LOGITS, u));
        }
        assertEquals(4, new Sampler(5, 1.0, 0, 1.0).sample(LOGITS, 0.999999), "the top of the id-ordered CDF");
    }
}
