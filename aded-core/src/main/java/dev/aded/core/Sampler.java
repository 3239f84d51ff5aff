package dev.aded.core;

import it.unimi.dsi.fastutil.ints.IntArrays;

/**
 * Draws a token from the model's logits after temperature, top-k and top-p, by inverse CDF over one uniform
 * number. Plain decoding and tree verification both draw through here with one number per emitted token, so for
 * a given seed they produce the same text. Reuses its buffers: one instance per generation.
 */
final class Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final float[] probs;
    private final int[] order;

    Sampler(int vocabSize, double temperature, int topK, double topP) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.probs = new float[vocabSize];
        this.order = new int[vocabSize];
    }

    /** Returns the token whose cumulative probability first reaches {@code u} (0 ≤ u < 1). */
    int sample(float[] logits, double u) {
        int n = probs.length;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[i]);
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[i] - max) / temperature);
            probs[i] = p;
            total += p;
        }
        if (topK == 0 && topP >= 1) {
            return inverseCdf(u * total, n, false);
        }
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Most probable first, ties to the lower id, so the kept set never depends on sort stability.
        IntArrays.quickSort(order, 0, n, (a, b) -> probs[a] != probs[b] ? Float.compare(probs[b], probs[a]) : a - b);
        int kept = topK > 0 ? Math.min(topK, n) : n;
        double keptMass = 0;
        for (int i = 0; i < kept; i++) {
            keptMass += probs[order[i]];
        }
        if (topP < 1) {
            double cut = topP * keptMass;
            double cum = 0;
            for (int i = 0; i < kept; i++) {
                cum += probs[order[i]];
                if (cum >= cut) {
                    kept = i + 1;
                    keptMass = cum;
                    break;
                }
            }
        }
        return inverseCdf(u * keptMass, kept, true);
    }

    private int inverseCdf(double target, int count, boolean sorted) {
        double cum = 0;
        int last = -1;
        for (int i = 0; i < count; i++) {
            int tok = sorted ? order[i] : i;
            float p = probs[tok];
            if (p == 0) {
                continue;
            }
            cum += p;
            last = tok;
            if (cum > target) {
                return tok;
            }
        }
        return last; // rounding left target at the very top of the mass
    }
}
