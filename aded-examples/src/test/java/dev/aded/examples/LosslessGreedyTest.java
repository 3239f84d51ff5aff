package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
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
}
