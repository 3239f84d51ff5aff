package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.Cancellation;
import dev.aded.core.ContextOverflow;
import dev.aded.core.FinishReason;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What users expect of generate(): streaming, stop strings, cancellation, sampling seeds, bad calls. */
class GeneratorBehaviourTest {
    private static final String PROMPT = "class Stack:\n    def __init__(self):\n";
    private static Generator generator;

    @BeforeAll
    static void open() {
        generator = EmbeddedModel.open();
    }

    @AfterAll
    static void close() {
        generator.close();
    }

    private static GenerationConfig.Builder config() {
        return GenerationConfig.builder().maxNewTokens(64);
    }

    @Test
    void streamedPiecesConcatenateToTheResultText() {
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = generator.generate(PROMPT, config().build(), streamed::append);
        assertEquals(r.text(), streamed.toString());
        assertEquals(64, r.tokens().length);
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(Mode.ADED, r.stats().mode());
    }

    @Test
    void stopStringsCutTheTextAndAreNeverStreamed() {
        String full = generator.generate(PROMPT, config().build()).text();
        int nl = full.indexOf('\n', 1);
        assertTrue(nl > 0, "expected a line break in " + full);
        String stop = full.substring(nl, Math.min(full.length(), nl + 5));
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = generator.generate(PROMPT, config().stopStrings(stop).build(),
                streamed::append);
        assertEquals(FinishReason.STOP_STRING, r.finishReason());
        assertEquals(full.substring(0, full.indexOf(stop)), r.text());
        assertEquals(r.text(), streamed.toString());
    }

    @Test
    void cancellingFromAnotherThreadEndsTheCallAndLeavesTheModelUsable() throws Exception {
        GenerationResult before = generator.generate(PROMPT, config().mode(Mode.AR).build());
        Cancellation cancel = new Cancellation();
        CountDownLatch firstPiece = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                firstPiece.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cancel.cancel();
        });
        t.start();
        GenerationResult r = generator.generate(PROMPT, config().maxNewTokens(1000).build(),
                piece -> firstPiece.countDown(), cancel);
        t.join();
        assertEquals(FinishReason.CANCELLED, r.finishReason());
        assertTrue(r.tokens().length < 1000);
        assertTrue(r.tokens().length > 0, "cancelled before it began, not mid-way");
        // The next call on the same model gives exactly what it gave before the cancelled one.
        GenerationResult after = generator.generate(PROMPT, config().mode(Mode.AR).build());
        assertEquals(before.text(), after.text());
        assertEquals(java.util.Arrays.toString(before.tokens()), java.util.Arrays.toString(after.tokens()));
    }

    @Test
    void samplingWithASeedIsReproducibleAndModeIndependent() {
        GenerationConfig sampled = config().temperature(0.8).topP(0.95).topK(50).seed(1234).build();
        GenerationResult ar = generator.generate(PROMPT, sampled.toBuilder().mode(Mode.AR).build());
        GenerationResult ar2 = generator.generate(PROMPT, sampled.toBuilder().mode(Mode.AR).build());
        GenerationResult other = generator.generate(PROMPT,
                sampled.toBuilder().seed(99).mode(Mode.AR).build());
        assertEquals(ar.text(), ar2.text());
        assertFalse(ar.text().equals(other.text()), "different seeds gave the same 64 sampled tokens");
        // One uniform number per emitted token in every mode: the same seed gives the same text through trees.
        GenerationResult aded = generator.generate(PROMPT, sampled.toBuilder().mode(Mode.ADED).build());
        assertEquals(ar.text(), aded.text());
    }

    @Test
    void generateNGivesDifferentRepeatableSamplesTheSameInEveryMode() {
        GenerationConfig sampled = config().maxNewTokens(24).temperature(1.0).minP(0.05).seed(5).build();
        List<GenerationResult> aded = generator.generateN(PROMPT, sampled.toBuilder().mode(Mode.ADED).build(), 3);
        assertEquals(3, aded.size());
        assertEquals(generator.generate(PROMPT, sampled.toBuilder().mode(Mode.ADED).build()).text(),
                aded.get(0).text(), "the first sequence runs with the config's own seed");
        assertEquals(3, aded.stream().map(GenerationResult::text).distinct().count(), "three different samples");
        List<GenerationResult> ar = generator.generateN(PROMPT, sampled.toBuilder().mode(Mode.AR).build(), 3);
        for (int i = 0; i < 3; i++) {
            assertEquals(ar.get(i).text(), aded.get(i).text(), "sequence " + i);
        }
        String msg = assertThrows(IllegalArgumentException.class,
                () -> generator.generateN(PROMPT, config().build(), 2)).getMessage();
        assertTrue(msg.contains("greedy"), msg);
    }

    @Test
    void badCallsAreRefusedWithClearMessages() {
        String stopMsg = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(PROMPT, config().stopTokenIds(1 << 20).build())).getMessage();
        assertTrue(stopMsg.contains("stop token id 1048576"), stopMsg);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> generator.generate("", config().build())).getMessage().contains("prompt is empty"));
        String longPrompt = "x = 1\n".repeat(1500);
        String msg = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(longPrompt, config().build())).getMessage();
        assertTrue(msg.contains("exceeds the model's context of 2048 tokens"), msg);
        GenerationResult truncated = generator.generate(longPrompt,
                config().maxNewTokens(8).contextOverflow(ContextOverflow.TRUNCATE_PROMPT_START).build());
        assertEquals(8, truncated.tokens().length);
        assertEquals(2048 - 8, truncated.stats().promptTokens());
        msg = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(PROMPT, config().maxNewTokens(5000).build())).getMessage();
        assertTrue(msg.contains("maxNewTokens 5000"), msg);
    }

    @Test
    void concurrentCallersGetTheSingleThreadedOutputs() throws Exception {
        String[] prompts = {PROMPT, "def parse(line):\n", "for i in range(10):\n", "import os\nimport sys\n"};
        String[] expected = new String[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            expected[i] = generator.generate(prompts[i], config().maxNewTokens(32).build()).text();
        }
        int threads = 8;
        AtomicInteger mismatches = new AtomicInteger();
        Thread[] workers = new Thread[threads];
        for (int w = 0; w < threads; w++) {
            int id = w;
            workers[w] = new Thread(() -> {
                for (int k = 0; k < 4; k++) {
                    int p = (id + k) % prompts.length;
                    String got = generator.generate(prompts[p], config().maxNewTokens(32).build()).text();
                    if (!got.equals(expected[p])) {
                        mismatches.incrementAndGet();
                    }
                }
            });
            workers[w].start();
        }
        for (Thread t : workers) {
            t.join();
        }
        assertEquals(0, mismatches.get());
    }
}
