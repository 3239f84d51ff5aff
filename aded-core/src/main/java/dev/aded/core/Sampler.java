package dev.aded.core;

import it.unimi.dsi.fastutil.ints.IntArrays;
import java.util.ArrayList;
import java.util.List;

/**
 * The distribution a token is drawn from: the model's (already penalised) logits after temperature, top-k, top-p
 * and min-p, in Hugging Face's order. {@link #load} processes one row; {@link #draw} then picks a token by inverse
 * CDF over one uniform number, and {@link #logprobs} reports the chosen token's log-probability and the likeliest
 * tokens. Plain decoding and tree verification both draw through here with one number per emitted token, so for a
 * given seed they produce the same text. For greedy decoding it holds the softmax of the logits (temperature 1, no
 * cuts), which is what greedy log-probabilities are reported from. Reuses its buffers: one instance per generation.
 */
final class Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final double minP;
    private final float[] probs;
    private final int[] order;
    private final int[] topTokens = new int[GenerationConfig.MAX_TOP_LOGPROBS];

    /** The loaded row: its logits, their maximum and the unnormalised mass of the tokens kept. */
    private float[] logits;
    private float max;
    private double mass;
    /** When the cuts sorted the row: {@code order[0, kept)} holds the kept tokens, most probable first. */
    private boolean sorted;
    private int kept;

    Sampler(int vocabSize, GenerationConfig config) {
        boolean greedy = config.greedy();
        this.temperature = greedy ? 1 : config.temperature();
        this.topK = greedy ? 0 : config.topK();
        this.topP = greedy ? 1 : config.topP();
        this.minP = greedy ? 0 : config.minP();
        this.probs = new float[vocabSize];
        this.order = new int[vocabSize];
    }

    /** Processes {@code row} (kept by reference until the next load) into the distribution to draw from. */
    void load(float[] row) {
        int n = probs.length;
        logits = row;
        max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, row[i]);
        }
        // The most likely token gets exactly 1, so min-p's threshold relative to it is minP itself.
        double total = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((row[i] - max) / temperature);
            if (p < minP) {
                p = 0;
            }
            probs[i] = p;
            total += p;
        }
        sorted = topK > 0 || topP < 1;
        if (!sorted) {
            mass = total;
            return;
        }
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Most probable first, ties to the lower id, so the kept set never depends on sort stability. Min-p's zeros
        // sort last; top-p must measure the mass before min-p, since Hugging Face applies min-p after it.
        IntArrays.quickSort(order, 0, n, (a, b) -> probs[a] != probs[b] ? Float.compare(probs[b], probs[a]) : a - b);
        kept = topK > 0 ? Math.min(topK, n) : n;
        if (topP < 1) {
            double keptMass = 0;
            for (int i = 0; i < kept; i++) {
                keptMass += unfiltered(order[i]);
            }
            double cut = topP * keptMass;
            double cum = 0;
            for (int i = 0; i < kept; i++) {
                cum += unfiltered(order[i]);
                if (cum >= cut) {
                    kept = i + 1;
                    break;
                }
            }
        }
        mass = 0;
        for (int i = 0; i < n; i++) {
            int tok = order[i];
            if (i < kept) {
                mass += probs[tok];
            } else {
                probs[tok] = 0;
            }
        }
    }

    /** A token's probability before min-p, which may have zeroed it. */
    private float unfiltered(int token) {
        return probs[token] > 0 ? probs[token] : (float) Math.exp((logits[token] - max) / temperature);
    }

    /** The token whose cumulative probability first reaches {@code u} (0 ≤ u < 1) in the loaded distribution. */
    int draw(double u) {
        double target = u * mass;
        int count = sorted ? kept : probs.length;
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

    /** Natural log of {@code token}'s probability in the loaded distribution; -∞ when the cuts removed it. */
    double logprob(int token) {
        if (probs[token] == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        // From the logit rather than the float probability, which loses precision for unlikely tokens.
        return (logits[token] - max) / temperature - Math.log(mass);
    }

    /** {@code token}'s log-probability and the {@code top} likeliest tokens' in the loaded distribution. */
    TokenLogprobs logprobs(int token, int top) {
        int found = sorted ? sortedTop(top) : selectTop(top);
        List<TokenLogprobs.Alternative> alternatives = new ArrayList<>(found);
        for (int i = 0; i < found; i++) {
            alternatives.add(new TokenLogprobs.Alternative(topTokens[i], logprob(topTokens[i])));
        }
        return new TokenLogprobs(token, logprob(token), alternatives);
    }

    private int sortedTop(int top) {
        int found = 0;
        for (int i = 0; i < kept && found < top; i++) {
            if (probs[order[i]] > 0) {
                topTokens[found++] = order[i];
            }
        }
        return found;
    }

    /** The {@code top} likeliest tokens by insertion into a short sorted list: one pass, no sort of the vocabulary. */
    private int selectTop(int top) {
        if (top == 0) {
            return 0;
        }
        int found = 0;
        for (int tok = 0; tok < probs.length; tok++) {
            float p = probs[tok];
            if (p == 0 || (found == top && p <= probs[topTokens[found - 1]])) {
                continue; // ids rise, so an equal probability loses the tie to the tokens already listed
            }
            int at = found < top ? found++ : found - 1;
            while (at > 0 && probs[topTokens[at - 1]] < p) {
                topTokens[at] = topTokens[at - 1];
                at--;
            }
            topTokens[at] = tok;
        }
        return found;
    }

    /** The highest logit's token, ties to the lower id, as {@link TreeLogits#argmax} breaks them. */
    static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
