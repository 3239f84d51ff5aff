package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * The scheduler's control flow over a scripted model that records each pass: concurrent generations share passes
 * and each gets its own logits; passes keep to the node budget even when the thread that leads one does not fit in
 * it; a tree that makes a pass fail fails alone.
 */
class StepSchedulerTest {
    private static final int[] SCRIPT = new int[600];

    static {
        for (int i = 0; i < SCRIPT.length; i++) {
            SCRIPT[i] = 10 + i % 97;
        }
    }

    /** The scripted model, recording the trees and nodes of each pass; fails any pass that holds a poisoned session. */
    private static final class Recording implements TargetModel {
        final ScriptedModel scripted = new ScriptedModel(SCRIPT, 4096);
        final List<int[]> passes = new ArrayList<>();
        volatile ModelSession poisoned;

        @Override
        public synchronized TreeLogits[] forwardAll(ModelSession[] sessions, DraftTree[] trees, int count) {
            int nodes = 0;
            for (int i = 0; i < count; i++) {
                if (sessions[i] == poisoned) {
                    throw new IllegalStateException("poisoned tree");
                }
                nodes += trees[i].size();
            }
            passes.add(new int[] {count, nodes});
            return TargetModel.super.forwardAll(sessions, trees, count);
        }

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public String device() {
            return "none";
        }

        @Override
        public int vocabSize() {
            return ScriptedModel.VOCAB;
        }

        @Override
        public int maxContext() {
            return 4096;
        }

        @Override
        public int[] eosTokenIds() {
            return new int[0];
        }

        @Override
        public ModelSession newSession(int maxTokens) {
            return scripted.newSession(maxTokens);
        }

        @Override
        public void close() {}
    }

    /**
     * One generation: {@code steps} steps of trees of {@code nodes} nodes, keeping the model's token each time; it
     * starts stepping when all of the {@code start} barrier's generations have joined, so that they overlap.
     */
    private static int[] generate(StepScheduler scheduler, ModelSession session, int steps, int nodes,
            CyclicBarrier start) throws Exception {
        scheduler.join();
        try {
            start.await(1, TimeUnit.MINUTES);
            session.prefill(SCRIPT, 0, 1);
            DraftTree tree = new DraftTree(nodes);
            int[] out = new int[steps];
            for (int i = 0; i < steps; i++) {
                tree.reset(i == 0 ? SCRIPT[1] : out[i - 1]);
                for (int n = 1; n < nodes; n++) {
                    tree.add(n - 1, ScriptedModel.WRONG, 0.5f);
                }
                int at = i;
                scheduler.step(session, tree, false, null, logits -> {
                    out[at] = logits.argmax(0);
                    session.commit(new int[] {0}, 1);
                    return 1;
                });
            }
            return out;
        } finally {
            scheduler.leave();
        }
    }

    private static StepScheduler scheduler(TargetModel model, int maxNodes) {
        return new StepScheduler(model, new ReentrantLock(true), maxNodes);
    }

    private static List<Future<int[]>> runAll(ExecutorService pool, StepScheduler scheduler, Recording model,
            int generations, int steps, int nodes) {
        List<Future<int[]>> futures = new ArrayList<>();
        CyclicBarrier start = new CyclicBarrier(generations);
        for (int g = 0; g < generations; g++) {
            ModelSession session = model.newSession(steps + nodes + 2);
            futures.add(pool.submit(() -> generate(scheduler, session, steps, nodes, start)));
        }
        return futures;
    }

    @Test
    void concurrentGenerationsSharePassesAndEachGetsItsOwnTokens() throws Exception {
        Recording model = new Recording();
        StepScheduler scheduler = scheduler(model, StepScheduler.DEFAULT_MAX_NODES);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            int steps = 200;
            int[] want = Arrays.copyOfRange(SCRIPT, 2, 2 + steps);
            for (Future<int[]> f : runAll(pool, scheduler, model, 8, steps, 3)) {
                assertArrayEquals(want, f.get(1, TimeUnit.MINUTES));
            }
        } finally {
            pool.shutdownNow();
        }
        int most = model.passes.stream().mapToInt(p -> p[0]).max().orElse(0);
        assertTrue(most > 1, "8 generations never shared a pass");
        assertEquals(8 * 200, model.passes.stream().mapToInt(p -> p[0]).sum(), "every step in exactly one pass");
    }

    /**
     * A pass whose generations read argmaxes alone frees the device at once: another generation's pass runs while
     * the first still accepts. One that reads logits holds the device until it has accepted, since the next pass
     * could overwrite them. Passes are numbered as they start, so the first generation's next pass shows that it
     * missed the other's.
     */
    @Test
    void theNextPassRunsDuringAnArgmaxOnlyAcceptanceOnly() throws Exception {
        for (boolean readsLogits : new boolean[] {false, true}) {
            Recording model = new Recording();
            StepScheduler scheduler = scheduler(model, StepScheduler.DEFAULT_MAX_NODES);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            java.util.concurrent.CountDownLatch accepting = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch otherPassed = new java.util.concurrent.CountDownLatch(1);
            try {
                scheduler.join();
                scheduler.join();
                Future<long[]> first = pool.submit(() -> {
                    ModelSession s = model.newSession(16);
                    DraftTree tree = new DraftTree(1);
                    tree.reset(SCRIPT[0]);
                    boolean[] overlapped = new boolean[1];
                    StepScheduler.Outcome one = scheduler.step(s, tree, readsLogits, null, logits -> {
                        accepting.countDown();
                        try {
                            overlapped[0] = otherPassed.await(300, TimeUnit.MILLISECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return 1;
                    });
                    StepScheduler.Outcome two = scheduler.step(s, tree, readsLogits, null, logits -> 1);
                    scheduler.leave();
                    assertTrue(one.queueNanos() >= 0 && two.queueNanos() >= 0, "waits are times");
                    return new long[] {overlapped[0] ? 1 : 0, one.pass(), two.pass()};
                });
                Future<Long> second = pool.submit(() -> {
                    accepting.await(1, TimeUnit.MINUTES);
                    ModelSession s = model.newSession(16);
                    DraftTree tree = new DraftTree(1);
                    tree.reset(SCRIPT[0]);
                    long pass = scheduler.step(s, tree, readsLogits, null, logits -> 1).pass();
                    otherPassed.countDown();
                    scheduler.leave();
                    return pass;
                });
                long[] seen = first.get(1, TimeUnit.MINUTES);
                assertEquals(!readsLogits, seen[0] == 1, "overlap with readsLogits " + readsLogits);
                long other = second.get(1, TimeUnit.MINUTES);
                if (!readsLogits) {
                    assertEquals(1, other, "the other generation's pass, the second to start");
                    assertArrayEquals(new long[] {0, 2}, new long[] {seen[1], seen[2]},
                            "the first generation's passes, with the one it missed between them");
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * A pass that starts because its tree waited long enough, another running generation's tree not ready, counts as
     * started by the wait; one whose every running generation waits does not.
     */
    @Test
    void passesThatTheWaitStartsAreCounted() {
        Recording model = new Recording();
        StepScheduler scheduler = scheduler(model, StepScheduler.DEFAULT_MAX_NODES);
        scheduler.join();
        scheduler.join(); // a generation that brings no tree
        ModelSession session = model.newSession(16);
        DraftTree tree = new DraftTree(1);
        tree.reset(SCRIPT[0]);
        scheduler.step(session, tree, false, null, logits -> 1);
        assertEquals(new Generator.PassCounts(1, 1), scheduler.counts());
        scheduler.leave();
        scheduler.step(session, tree, false, null, logits -> 1);
        assertEquals(new Generator.PassCounts(2, 1), scheduler.counts(), "alone, a tree completes its pass");
        scheduler.leave();
    }

    @Test
    void passesKeepToTheNodeBudgetWhenTheLeaderDoesNotFit() throws Exception {
        for (int budget : new int[] {StepScheduler.DEFAULT_MAX_NODES, 64}) {
            Recording model = new Recording();
            StepScheduler scheduler = scheduler(model, budget);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            int nodes = budget / 2 - 10; // two trees fit a pass, three do not
            try {
                for (Future<int[]> f : runAll(pool, scheduler, model, 6, 30, nodes)) {
                    assertEquals(30, f.get(1, TimeUnit.MINUTES).length);
                }
            } finally {
                pool.shutdownNow();
            }
            for (int[] p : model.passes) {
                assertTrue(p[1] <= budget, "a pass of " + p[1] + " nodes under a budget of " + budget);
            }
            assertEquals(6 * 30, model.passes.stream().mapToInt(p -> p[0]).sum());
        }
    }

    @Test
    void eachRunningGenerationDraftsItsShareOfTheBudget() {
        StepScheduler scheduler = scheduler(new Recording(), 256);
        for (int g = 0; g < 16; g++) {
            scheduler.join();
        }
        assertEquals(256 / 16 - 1, scheduler.draftNodeShare(), "16 trees of 16 nodes, roots included, fill 256");
        for (int g = 0; g < 15; g++) {
            scheduler.leave();
        }
        assertEquals(255, scheduler.draftNodeShare(), "alone, the whole budget but the root");
    }

    @Test
    void aTreeThatFailsItsPassFailsAlone() throws Exception {
        Recording model = new Recording();
        StepScheduler scheduler = scheduler(model, StepScheduler.DEFAULT_MAX_NODES);
        ModelSession bad = model.newSession(64);
        model.poisoned = bad;
        ExecutorService pool = Executors.newFixedThreadPool(5);
        AtomicInteger failures = new AtomicInteger();
        try {
            List<Future<int[]>> good = runAll(pool, scheduler, model, 4, 100, 2);
            Future<int[]> failing = pool.submit(() -> generate(scheduler, bad, 100, 2, new CyclicBarrier(1)));
            for (Future<int[]> f : good) {
                assertEquals(100, f.get(1, TimeUnit.MINUTES).length);
            }
            Exception e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> failing.get(1, TimeUnit.MINUTES));
            assertEquals("poisoned tree", e.getCause().getMessage());
            failures.incrementAndGet();
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, failures.get());
    }
}
