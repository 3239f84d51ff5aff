package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.Aded;
import dev.aded.core.Admission;
import dev.aded.core.FinishReason;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.GeneratorBusyException;
import dev.aded.core.TextListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A batching generator of 2 slots and a queue of 1: a third generation waits for a slot, a fourth is refused at
 * once with the queue's bound in its message, and the three admitted ones finish with their single-stream outputs.
 */
class AdmissionTest {
    @Test
    void aGenerationPastTheQueueIsRefusedAndTheOthersFinish() throws Exception {
        try (Generator generator = Aded.builder().model(EmbeddedModel.DIR).datastore(EmbeddedModel.DATASTORE)
                .concurrency(2).maxQueued(1).build()) {
            List<String> prompts = EmbeddedModel.devPrompts().subList(0, 3);
            GenerationConfig config = GenerationConfig.builder().maxNewTokens(96).build();
            List<GenerationResult> alone = new ArrayList<>();
            for (String p : prompts) {
                alone.add(generator.generate(p, config));
            }
            List<CompletableFuture<GenerationResult>> running = new ArrayList<>();
            for (String p : prompts) {
                running.add(generator.generateAsync(p, config, (TextListener) null));
            }
            Admission admission = generator.admission();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!(admission.running() == 2 && admission.waiting() == 1) && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(1, admission.waiting(), "the third generation should wait for a slot");
            GeneratorBusyException refused = assertThrows(GeneratorBusyException.class,
                    () -> generator.generate(prompts.get(0), config));
            assertTrue(refused.getMessage().contains("queue's bound of 1"), refused.getMessage());
            for (int i = 0; i < prompts.size(); i++) {
                GenerationResult r = running.get(i).get(2, TimeUnit.MINUTES);
                assertArrayEquals(alone.get(i).tokens(), r.tokens(), "prompt " + i);
                assertEquals(alone.get(i).finishReason(), r.finishReason());
                assertTrue(r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.EOS);
            }
            assertEquals(0, admission.running());
        }
    }
}
