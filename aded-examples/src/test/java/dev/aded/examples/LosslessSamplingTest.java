package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.Cancellation;
import dev.aded.core.DraftTree;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import dev.aded.core.ModelSession;
import it.unimi.dsi.fastutil.ints.Int2IntOpenHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sampling through draft trees must keep the model's distribution. Over many seeds, the second generated token
 * (the first one a draft can supply) is compared by chi-square with the model's exact conditional distribution,
 * computed from the model's own logits.
 */
class LosslessSamplingTest {
    private static final String PROMPT = "import numpy as np\n\n\ndef mean(values):\n    return";
    private static final int DRAWS = 1500;
    private static Generator generator;

    @BeforeAll
    static void open() {
        generator = EmbeddedModel.open();
    }

    @AfterAll
    static void close() {
        generator.close();
    }

    @Test
    void adedSamplesTheModelsDistribution() {
        assertSamplesTheProcessedDistribution(GenerationConfig.builder().temperature(1.0), DRAWS);
    }

    /**
     * With the options that reshape the distribution: the second token's repetition penalty counts the first token,
     * which in a tree is the parent node, so this checks that each node is penalised by its own path.
     */
    @Test
    void adedSamplesTheProcessedDistributionWithPenaltyAndCuts() {
        assertSamplesTheProcessedDistribution(GenerationConfig.builder().temperature(0.9).repetitionPenalty(1.4)
                .topK(40).topP(0.95).minP(0.02), DRAWS * 2 / 3);
    }

    private static void assertSamplesTheProcessedDistribution(GenerationConfig.Builder options, int draws) {
        GenerationConfig base = options.mode(Mode.ADED).maxNewTokens(2).build();
        int[] prompt = generator.tokenizer().encode(PROMPT);
        double[] first = distribution(prompt, base);
        int firstToken = argmax(first);
        int[] extended = java.util.Arrays.copyOf(prompt, prompt.length + 1);
        extended[prompt.length] = firstToken;
        double[] second = distribution(extended, base);

        Int2IntOpenHashMap counts = new Int2IntOpenHashMap();
        int conditioned = 0;
        long draftedSteps = 0;
        for (int seed = 0; seed < draws; seed++) {
            GenerationResult r = generator.generateTokens(prompt, base.toBuilder().seed(seed).build(),
                    null, new Cancellation());
            if (r.tokens().length == 2 && r.tokens()[0] == firstToken) {
                counts.addTo(r.tokens()[1], 1);
                conditioned++;
                draftedSteps += r.stats().steps() == 1 ? 1 : 0;
            }
        }
        assertTrue(conditioned > 200, "too few draws took the likely first token: " + conditioned);
        assertTrue(draftedSteps > 0, "no draw took both tokens from one tree: the test would not test drafting");
        double[] chi2AndDf = chiSquare(counts, second, conditioned);
        double limit = quantile999(chi2AndDf[1]);
        assertTrue(chi2AndDf[0] < limit, "chi-square " + chi2AndDf[0] + " with " + chi2AndDf[1]
                + " degrees of freedom over " + conditioned + " draws (limit " + limit + ")");
    }

    /**
     * The model's exact next-token distribution after {@code seq} as {@code config} reshapes it, computed here
     * independently of the library: the repetition penalty over {@code seq}, the temperature, then top-k, top-p and
     * min-p in Hugging Face's order.
     */
    private static double[] distribution(int[] seq, GenerationConfig config) {
        float[] row = new float[generator.model().vocabSize()];
        try (ModelSession s = generator.model().newSession(seq.length + 1)) {
            s.prefill(seq, 0, seq.length - 1);
            DraftTree root = new DraftTree(1);
            root.reset(seq[seq.length - 1]);
            s.forward(root).logits(0, row);
        }
        float penalty = (float) config.repetitionPenalty();
        for (int t : java.util.Arrays.stream(seq).distinct().toArray()) {
            row[t] = row[t] < 0 ? row[t] * penalty : row[t] / penalty;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double[] p = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            p[i] = Math.exp((row[i] - max) / config.temperature());
        }
        normalise(p);
        Integer[] byProbability = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            byProbability[i] = i;
        }
        java.util.Arrays.sort(byProbability, (a, b) -> Double.compare(p[b], p[a]));
        int kept = config.topK() > 0 ? config.topK() : p.length;
        for (int i = kept; i < p.length; i++) {
            p[byProbability[i]] = 0;
        }
        normalise(p);
        double cum = 0;
        for (int i = 0; i < kept; i++) {
            if (cum >= config.topP()) {
                p[byProbability[i]] = 0;
            }
            cum += p[byProbability[i]];
        }
        double top = p[byProbability[0]];
        for (int i = 0; i < p.length; i++) {
            if (p[i] < config.minP() * top) {
                p[i] = 0;
            }
        }
        normalise(p);
        return p;
    }

    private static void normalise(double[] p) {
        double sum = java.util.Arrays.stream(p).sum();
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
    }

    /** Chi-square and its degrees of freedom over tokens expected at least 5 times plus one bucket for the rest. */
    private static double[] chiSquare(Int2IntOpenHashMap counts, double[] p, int n) {
        double chi2 = 0;
        int buckets = 0;
        double restExpected = 0;
        int restObserved = 0;
        for (int t = 0; t < p.length; t++) {
            double expected = p[t] * n;
            int observed = counts.get(t);
            if (expected >= 5) {
                chi2 += (observed - expected) * (observed - expected) / expected;
                buckets++;
            } else {
                restExpected += expected;
                restObserved += observed;
            }
        }
        if (restExpected > 0) {
            chi2 += (restObserved - restExpected) * (restObserved - restExpected) / restExpected;
            buckets++;
        }
        return new double[] {chi2, buckets - 1};
    }

    /** The chi-square distribution's 99.9% quantile (Wilson-Hilferty), so a correct sampler fails 1 run in 1000. */
    private static double quantile999(double df) {
        double a = 2 / (9 * df);
        return df * Math.pow(1 - a + 3.09 * Math.sqrt(a), 3);
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
