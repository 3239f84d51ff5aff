package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.text.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The decoding loop's control flow over a scripted model (see {@link ScriptedModel}): how each stop condition ends a
 * generation, what reaches the cache, how drafting is bounded, and how a kept cache is reused. The real model's
 * behaviour is tested in aded-examples.
 */
class DecodingTest {
    private static final int EOS = 2;
    private static final String PROMPT = "def area(width, height):\n";
    private static final String ANSWER = "    return width * height\n\n\nprint(area(3, 4))\n";
    private static Tokenizer tokenizer;
    private static int[] prompt;
    private static int[] script;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(Path.of("..", "aded-examples", "models", "code-15m"));
        prompt = tokenizer.encode(PROMPT);
        int[] answer = tokenizer.encode(ANSWER, false);
        script = concat(prompt, answer);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int[] answer(int from, int to) {
        return Arrays.copyOfRange(script, prompt.length + from, prompt.length + to);
    }

    private record Run(GenerationResult result, ScriptedModel model, ScriptedModel.ScriptDrafter drafter) {
        /**
         * The generation's session, the one that holds the prompt: in aded mode the cost model's timing sessions
         * (before the generation, and during it once a tree grows past the sizes timed first) prefill fillers.
         */
        ScriptedModel.Session session() {
            List<ScriptedModel.Session> own = model.sessions.stream()
                    .filter(s -> !s.cached.isEmpty() && s.cached.getInt(0) == prompt[0]).toList();
            assertEquals(1, own.size(), model.sessions.size() + " sessions");
            return own.get(0);
        }
    }

    private static Run run(int[] script, int maxContext, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        ScriptedModel model = new ScriptedModel(script, maxContext, EOS);
        ScriptedModel.ScriptDrafter drafter = new ScriptedModel.ScriptDrafter(script);
        try (Generator g = Generator.builder(model, tokenizer).drafter(drafter).build()) {
            return new Run(g.generateTokens(prompt, config, listener, cancellation), model, drafter);
        }
    }

    private static Run run(GenerationConfig.Builder config) {
        return run(script, 512, config.build(), null, new Cancellation());
    }

    private static GenerationConfig.Builder config(Mode mode, int maxNewTokens) {
        return GenerationConfig.builder().mode(mode).maxNewTokens(maxNewTokens);
    }

    @Test
    void everyModeSaysTheScriptAndTheCacheHoldsExactlyTheAcceptedTokens() {
        int n = script.length - prompt.length;
        for (Mode mode : Mode.values()) {
            Run r = run(config(mode, n));
            assertArrayEquals(answer(0, n), r.result().tokens(), mode.id());
            assertEquals(ANSWER, r.result().text(), mode.id());
            assertEquals(FinishReason.LENGTH, r.result().finishReason(), mode.id());
            ScriptedModel.Session s = r.session();
            assertEquals(List.of("0-" + (prompt.length - 1)), s.calls, "one prefill of all but the last prompt token");
            assertArrayEquals(Arrays.copyOf(script, s.cached.size()), s.cached.toIntArray(),
                    mode.id() + ": the cache holds the accepted path only, never the wrong branches");
            assertTrue(s.closed, "the session is closed after the generation");
            assertEquals(s.forwards, r.result().stats().steps());
            assertEquals(n, Arrays.stream(r.result().stats().acceptedPerStep()).sum());
        }
        Run aded = run(config(Mode.ADED, n));
        assertTrue(aded.result().stats().steps() < n / 3, "the chain drafts were accepted: "
                + aded.result().stats().steps() + " steps for " + n + " tokens");
        assertEquals(n - aded.result().stats().steps(), aded.drafter().accepted);
    }

    @Test
    void treesPastTheSizesTimedFirstTimeTheRestOfTheBudgetOnce() {
        // The scripted model's passes cost next to nothing at any size, so the sizer soon wants a large tree.
        int n = script.length - prompt.length;
        Run r = run(config(Mode.ADED, n).treeBudget(40));
        VerifierCostModel cost = VerifierCostModel.of(r.model());
        assertTrue(cost.covers(41), "timed up to the budget with the root");
        assertTrue(cost.firstMeasuringNanos() > 0 && cost.firstMeasuringNanos() < cost.measuringNanos());
        assertEquals(3, r.model().sessions.size(), "one timing session at first use and one later, besides the"
                + " generation's");
        assertTrue(Arrays.stream(r.result().stats().nodesPerStep()).max().getAsInt() >= VerifierCostModel.FIRST_NODES,
                "trees past the first sizes were verified");
    }

    @Test
    void eosEndsTheGenerationAndIsNotPartOfIt() {
        int[] withEos = script.clone();
        withEos[prompt.length + 5] = EOS;
        for (Mode mode : Mode.values()) {
            GenerationResult r = run(withEos, 512, config(mode, 40).build(), null, new Cancellation()).result();
            assertEquals(FinishReason.EOS, r.finishReason(), mode.id());
            assertArrayEquals(answer(0, 5), r.tokens(), mode.id());
            assertEquals(tokenizer.decode(answer(0, 5), 0, 5), r.text());
        }
    }

    @Test
    void aStopTokenIdEndsLikeEos() {
        int stop = script[prompt.length + 7];
        int first = 0;
        while (script[prompt.length + first] != stop) {
            first++;
        }
        Run r = run(config(Mode.ADED, 40).stopTokenIds(stop));
        assertEquals(FinishReason.STOP_TOKEN, r.result().finishReason());
        assertArrayEquals(answer(0, first), r.result().tokens());
    }

    @Test
    void maxNewTokensCutsAStepThatAcceptedMoreAndBoundsTheDraftDepth() {
        Run r = run(config(Mode.ADED, 6));
        assertEquals(FinishReason.LENGTH, r.result().finishReason());
        assertArrayEquals(answer(0, 6), r.result().tokens());
        assertTrue(r.drafter().depths.getInt(0) <= 5, "never draft deeper than the tokens left after the bonus");
        int produced = 0;
        for (int i = 0; i < r.drafter().depths.size(); i++) {
            assertTrue(r.drafter().depths.getInt(i) <= 6 - produced - 1, "step " + i);
            produced += r.result().stats().acceptedPerStep()[i];
        }
    }

    @Test
    void aStopStringCutsTheTextBeforeItAndNothingPastItIsStreamed() {
        StringBuilder streamed = new StringBuilder();
        Run r = run(script, 512, config(Mode.ADED, 40).stopStrings("\n\n\n").build(), streamed::append,
                new Cancellation());
        assertEquals(FinishReason.STOP_STRING, r.result().finishReason());
        assertEquals("    return width * height", r.result().text());
        assertEquals(r.result().text(), streamed.toString());
    }

    @Test
    void cancellingFromTheListenerStopsAfterTheCurrentStep() {
        Cancellation cancel = new Cancellation();
        Run r = run(script, 512, config(Mode.AR, 40).build(), piece -> cancel.cancel(), cancel);
        assertEquals(FinishReason.CANCELLED, r.result().finishReason());
        assertTrue(r.result().tokens().length > 0 && r.result().tokens().length < 5,
                "stopped after the first text: " + r.result().tokens().length + " tokens");
        assertTrue(r.session().closed);

        Cancellation before = new Cancellation();
        before.cancel();
        Run none = run(script, 512, config(Mode.ADED, 40).build(), null, before);
        assertEquals(0, none.result().tokens().length);
        assertEquals(0, none.session().forwards, "no forward pass once cancelled");
    }

    @Test
    void aFullContextIsRefusedOrCutAtThePromptStartAndDraftsNeverOverflowTheCache() {
        int context = prompt.length + 8;
        String msg = assertThrows(IllegalArgumentException.class,
                () -> run(script, context, config(Mode.ADED, 12).build(), null, new Cancellation())).getMessage();
        assertTrue(msg.contains("exceeds the model's context of " + context), msg);

        Run cut = run(script, context, config(Mode.ADED, 12).treeBudget(32)
                .contextOverflow(ContextOverflow.TRUNCATE_PROMPT_START).build(), null, new Cancellation());
        assertEquals(12, cut.result().tokens().length);
        assertEquals(context - 12, cut.result().stats().promptTokens());
        ScriptedModel.Session s = cut.session();
        assertEquals(prompt[0], s.cached.getInt(0), "the first prompt token (BOS) is kept");
        assertEquals(prompt[prompt.length - 2], s.cached.getInt(context - 12 - 2), "and the prompt's end");
        assertTrue(s.capacity <= context);
        for (int budget : cut.drafter().budgets) {
            assertTrue(budget <= s.capacity, "budget " + budget);
        }
    }

    @Test
    void samplesOfOnePromptShareOneCacheAndPrefillThePromptOnce() {
        ScriptedModel model = new ScriptedModel(script, 512, EOS);
        try (Generator g = Generator.builder(model, tokenizer).build()) {
            GenerationConfig sampled = config(Mode.PLD, 10).temperature(1.5).seed(3).build();
            List<GenerationResult> results = g.generateTokensN(prompt, sampled, 3, new Cancellation());
            assertEquals(3, results.size());
            assertEquals(1, model.sessions.size(), "one cache for all three");
            ScriptedModel.Session s = model.sessions.get(0);
            int kept = prompt.length - 1;
            assertEquals(List.of("truncate 0", "0-" + kept, "truncate " + (kept + 10),
                    "truncate " + kept, "truncate " + (kept + 10), "truncate " + kept, "truncate " + (kept + 10)),
                    s.calls, "later samples go back to the prompt instead of running it again");
            assertTrue(s.closed);
            assertArrayEquals(g.generateTokens(prompt, sampled, null, new Cancellation()).tokens(),
                    results.get(0).tokens(), "the first sample is the plain call with the same seed");
        }
    }
}
