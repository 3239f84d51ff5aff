package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.verify.NativeMemory;
import it.unimi.dsi.fastutil.longs.Long2IntMap;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Sixteen threads share one model and one datastore for 320 generations (dev prompts; aded, pld and ar; greedy and
 * seeded sampling). Every output must equal the single-threaded output of the same call, the adaptive counts must
 * hold every token the aded generations fed back, counted one by one, no tensor may outlive its generation, and
 * resident native memory must level off rather than grow with the work.
 */
class LoadTest {
    private static final int THREADS = 16;
    private static final int GENERATIONS = 320;
    private static final int PROMPTS = 8;
    private static final Mode[] MODES = {Mode.ADED, Mode.PLD, Mode.AR};
    /** Native growth always tolerated over half the run (NativeMemoryTest's figure). */
    private static final long RESIDENT_SLACK_KB = 32 * 1024;

    /** One kind of call: a dev prompt, a mode, and greedy decoding or sampling with the prompt's own seed. */
    private record Call(int prompt, Mode mode, boolean sampled) {
        GenerationConfig config() {
            GenerationConfig.Builder b = GenerationConfig.builder().mode(mode).maxNewTokens(16 + 2 * (prompt % 5));
            return sampled ? b.temperature(0.9).topP(0.95).seed(1000 + prompt).build() : b.build();
        }
    }

    @Test
    void sixteenThreadsGetTheSingleThreadedOutputsLoseNoCountAndFreeTheirMemory() throws Exception {
        try (Pipeline pipeline = EmbeddedModel.open()) {
            List<String> prompts = EmbeddedModel.devPrompts().subList(0, PROMPTS);
            Generator generator = pipeline.generator();
            AdaptiveCounts counts = pipeline.counts();
            List<Call> kinds = new ArrayList<>();
            for (boolean sampled : new boolean[] {false, true}) {
                for (Mode mode : MODES) {
                    for (int p = 0; p < PROMPTS; p++) {
                        kinds.add(new Call(p, mode, sampled));
                    }
                }
            }
            Map<Call, GenerationResult> expected = new HashMap<>();
            for (Call c : kinds) {
                expected.put(c, generator.generate(prompts.get(c.prompt()), c.config()));
            }
            List<Call> calls = new ArrayList<>();
            for (int i = 0; i < GENERATIONS; i++) {
                calls.add(kinds.get(i % kinds.size()));
            }
            // One concurrent round first, so that the baseline below already includes the allocator's per-thread
            // pools: what is measured is growth under load, not the first use of 16 threads.
            runConcurrently(generator, prompts, kinds);

            Long2IntOpenHashMap fedTrigrams = expectedTrigrams(pipeline, prompts, calls, expected);
            Long2IntOpenHashMap learnedBefore = learned(counts, fedTrigrams);
            long observedBefore = counts.observedTokens();
            int tensorsBefore = NativeMemory.liveTensors(pipeline.model());
            long residentBefore = NativeMemory.residentKb();

            int half = calls.size() / 2;
            List<GenerationResult> results = new ArrayList<>(runConcurrently(generator, prompts,
                    calls.subList(0, half)));
            long residentHalf = NativeMemory.residentKb();
            results.addAll(runConcurrently(generator, prompts, calls.subList(half, calls.size())));
            long residentAfter = NativeMemory.residentKb();
            long fed = 0;
            for (int i = 0; i < calls.size(); i++) {
                Call c = calls.get(i);
                GenerationResult want = expected.get(c);
                GenerationResult got = results.get(i);
                assertArrayEquals(want.tokens(), got.tokens(), "call " + i + " " + c + " differs from its single run");
                assertEquals(want.text(), got.text(), "call " + i + " " + c);
                // Decoding feeds every token it appends (all but EOS) to the aded drafter's counts, and no other.
                fed += c.mode() == Mode.ADED ? got.tokens().length : 0;
            }
            assertEquals(observedBefore + fed, counts.observedTokens(), "tokens fed back to the adaptive counts");
            Long2IntOpenHashMap learnedAfter = learned(counts, fedTrigrams);
            for (Long2IntMap.Entry e : fedTrigrams.long2IntEntrySet()) {
                int want = learnedBefore.get(e.getLongKey()) + counts.weight() * e.getIntValue();
                assertEquals(want, learnedAfter.get(e.getLongKey()), "learned count of tri-gram " + e.getLongKey());
            }
            assertTrue(fedTrigrams.size() > 100, "too few tri-grams checked: " + fedTrigrams.size());
            assertEquals(tensorsBefore, NativeMemory.liveTensors(pipeline.model()), "tensors left behind");
            // glibc keeps what the 16 threads' arenas freed, so the process does not shrink back to its start; a
            // leak would grow in proportion to the work, the allocator's pools level off. The second half of the
            // run must add at most half of what the first added (or the slack, when the first added little).
            long firstHalf = residentHalf - residentBefore;
            long secondHalf = residentAfter - residentHalf;
            assertTrue(secondHalf < Math.max(RESIDENT_SLACK_KB, firstHalf / 2), "native memory grew by " + firstHalf
                    + " kB over the first " + half + " generations and " + secondHalf + " kB over the next "
                    + (calls.size() - half) + ": growing with the work, not levelling off");
        }
    }

    /** Runs the calls on {@value #THREADS} threads at once; results in the calls' order. */
    private static List<GenerationResult> runConcurrently(Generator generator, List<String> prompts, List<Call> calls)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Callable<GenerationResult>> tasks = new ArrayList<>();
            for (Call c : calls) {
                tasks.add(() -> generator.generate(prompts.get(c.prompt()), c.config()));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Future<GenerationResult> f : pool.invokeAll(tasks)) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * How often each tri-gram (a, b → c) will be observed by the aded calls, keyed (a·V + b)·V + c: the outputs are
     * known from the single-threaded runs. Contexts that would reach the per-context cap of learned continuations
     * are left out, since the counts drop new continuations there by design.
     */
    private static Long2IntOpenHashMap expectedTrigrams(Pipeline pipeline, List<String> prompts, List<Call> calls,
            Map<Call, GenerationResult> expected) {
        long v = pipeline.counts().vocabSize();
        Long2IntOpenHashMap occurrences = new Long2IntOpenHashMap();
        Long2ObjectOpenHashMap<IntOpenHashSet> continuations = new Long2ObjectOpenHashMap<>();
        for (Call c : calls) {
            if (c.mode() != Mode.ADED) {
                continue;
            }
            int[] prompt = pipeline.tokenizer().encode(prompts.get(c.prompt()));
            int[] out = expected.get(c).tokens();
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + out.length);
            System.arraycopy(out, 0, all, prompt.length, out.length);
            for (int i = prompt.length; i < all.length; i++) {
                long context = all[i - 2] * v + all[i - 1];
                occurrences.addTo(context * v + all[i], 1);
                continuations.computeIfAbsent(context, k -> new IntOpenHashSet()).add(all[i]);
            }
        }
        occurrences.keySet().removeIf((long key) -> continuations.get(key / v).size() > 32);
        return occurrences;
    }

    private static Long2IntOpenHashMap learned(AdaptiveCounts counts, Long2IntOpenHashMap trigrams) {
        long v = counts.vocabSize();
        Long2IntOpenHashMap out = new Long2IntOpenHashMap();
        for (long key : trigrams.keySet()) {
            long context = key / v;
            out.put(key, counts.learnedCount((int) (context / v), (int) (context % v), (int) (key % v)));
        }
        return out;
    }
}
