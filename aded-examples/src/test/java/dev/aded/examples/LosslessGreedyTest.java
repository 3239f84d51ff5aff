package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.Cancellation;
import dev.aded.core.FinishReason;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import dev.aded.core.TokenLogprobs;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Greedy speculative decoding must reproduce plain greedy decoding token for token: all 60 dev prompts, 128 new
 * tokens, code-15m in f32 on the CPU, with the shipped datastore (learning as it goes, as in real use).
 */
class LosslessGreedyTest {
    private static Generator generator;
    private static List<String> prompts;

    @BeforeAll
    static void open() throws Exception {
        generator = EmbeddedModel.open();
        prompts = EmbeddedModel.devPrompts();
    }

    @AfterAll
    static void close() {
        generator.close();
    }

    @Test
    void pldAndAdedEqualArOnEveryDevPrompt() {
        assertTrue(prompts.size() == 60, "expected the 60 dev prompts, found " + prompts.size());
        long arSteps = 0;
        long adedSteps = 0;
        for (int i = 0; i < prompts.size(); i++) {
            GenerationResult ar = run(i, Mode.AR);
            GenerationResult pld = run(i, Mode.PLD);
            GenerationResult aded = run(i, Mode.ADED);
            assertArrayEquals(ar.tokens(), pld.tokens(), "pld differs from ar on prompt " + i);
            assertArrayEquals(ar.tokens(), aded.tokens(), "aded differs from ar on prompt " + i);
            assertTrue(ar.text().equals(aded.text()), "text differs on prompt " + i);
            arSteps += ar.stats().steps();
            adedSteps += aded.stats().steps();
        }
        // Drafting must save forward passes overall, or the datastore path is not doing its job.
        assertTrue(adedSteps < arSteps, "aded used " + adedSteps + " forward passes, ar " + arSteps);
    }

    private static GenerationResult run(int prompt, Mode mode) {
        GenerationConfig config = GenerationConfig.builder().mode(mode).maxNewTokens(128).build();
        return generator.generate(prompts.get(prompt), config, null, new Cancellation());
    }

    /**
     * The options that reshape the distribution keep the modes equal too: a repetition penalty (which depends on
     * the path each tree node sits on), a stop token id, and log-probabilities, which must be the same figures
     * whichever pass computed them (a tree's or a single token's, equal up to float rounding).
     */
    @Test
    void optionsKeepTheModesEqualWithTheSameLogprobs() {
        int withStop = 0;
        for (int i = 0; i < 8; i++) {
            GenerationConfig.Builder options = GenerationConfig.builder().maxNewTokens(48).repetitionPenalty(1.15)
                    .logprobs(true).topLogprobs(3);
            // A strong penalty makes this model end at once: the indentation it needs is in the prompt.
            int[] free = run(i, Mode.AR, options).tokens();
            // A stop token that first occurs late, so that most of the answer runs under the penalty before it.
            int at = firstNewTokenFrom(free, 16);
            if (at >= 0) {
                options.stopTokenIds(free[at]);
                withStop++;
            }
            GenerationResult ar = run(i, Mode.AR, options);
            assertArrayEquals(java.util.Arrays.copyOf(free, at >= 0 ? at : free.length), ar.tokens(), "prompt " + i);
            FinishReason finish = ar.finishReason();
            assertTrue(at < 0 || finish == FinishReason.STOP_TOKEN, "prompt " + i + " ended by " + finish);
            for (Mode mode : new Mode[] {Mode.PLD, Mode.ADED}) {
                GenerationResult other = run(i, mode, options);
                assertArrayEquals(ar.tokens(), other.tokens(), mode + " differs from ar on prompt " + i);
                assertEquals(finish, other.finishReason(), mode + " on prompt " + i);
                assertSameLogprobs(ar, other, mode + " on prompt " + i);
            }
        }
        assertTrue(withStop >= 3, "too few answers had a token to stop at: " + withStop);
    }

    /** The first position at or after {@code from} whose token does not occur before it; -1 if none. */
    private static int firstNewTokenFrom(int[] tokens, int from) {
        for (int i = from; i < tokens.length; i++) {
            final int t = tokens[i];
            if (java.util.Arrays.stream(tokens, 0, i).noneMatch(x -> x == t)) {
                return i;
            }
        }
        return -1;
    }

    private static void assertSameLogprobs(GenerationResult expected, GenerationResult actual, String what) {
        assertEquals(expected.tokens().length, expected.logprobs().size(), what);
        assertEquals(expected.logprobs().size(), actual.logprobs().size(), what);
        for (int t = 0; t < expected.logprobs().size(); t++) {
            TokenLogprobs e = expected.logprobs().get(t);
            TokenLogprobs a = actual.logprobs().get(t);
            assertEquals(e.token(), a.token(), what + ", token " + t);
            assertTrue(e.logprob() <= 0, what + ": a log-probability above 0");
            assertEquals(e.logprob(), a.logprob(), 1e-4, what + ", token " + t);
            assertEquals(3, a.top().size(), what);
            assertEquals(e.token(), a.top().get(0).token(), what + ": greedy picks the likeliest token");
            for (int k = 0; k < 3; k++) {
                assertEquals(e.top().get(k).logprob(), a.top().get(k).logprob(), 1e-4, what + ", token " + t);
            }
        }
    }

    private static GenerationResult run(int prompt, Mode mode, GenerationConfig.Builder options) {
        return generator.generate(prompts.get(prompt), options.mode(mode).build(), null, new Cancellation());
    }
}
