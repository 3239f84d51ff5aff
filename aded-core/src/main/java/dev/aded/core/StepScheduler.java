package dev.aded.core;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Verifies the draft trees of a generator's running generations together, as vLLM's scheduler steps every running
 * sequence at once: a pass takes the steps that are waiting (up to its node budget and
 * {@link #MAX_SEQUENCES} trees, oldest first), runs them through one {@link TargetModel#forwardAll} under the
 * device lock and hands each generation its logits. When no generation of the pass reads more than the argmaxes
 * (greedy decoding) the device is free at once, and the next pass runs while these accept and draft on their own
 * threads (a commit is bookkeeping until the session's next pass); otherwise the pass ends once each has accepted,
 * since the next pass may replay the graph whose output holds the logits.
 *
 * <p>A pass starts when every running generation has its tree ready, or when the oldest waiting step has waited a
 * quarter of the last round (a pass and its acceptances): a generation slow to draft, or whose listener blocks,
 * joins a later pass instead of holding up the others. The wait counts from the device's last release at the
 * earliest: the steps that queued during a pass would otherwise start the next one the moment it ends, without the
 * generations it just released, and the two groups would keep taking turns, each pass holding half the trees. New
 * generations join after their prefill (continuous batching); finished, cancelled and failed ones leave without
 * disturbing the rest. When a batched pass fails, each of its trees runs again alone, so a failure stays with the
 * generation that caused it.
 *
 * <p>The scheduler has no thread of its own: the generation whose step completes a round, or whose wait runs out,
 * runs the pass for everyone in it. A lone generation thus runs each step on its own thread without a hand-over.
 * Threads sleep and wake one by one ({@link LockSupport}), not all at once on a shared condition: with dozens of
 * generations, waking every thread at every change costs more than the pass.
 */
final class StepScheduler {
    /**
     * Tree nodes per pass at most unless told otherwise: bounds the pass's activations and its padding (vLLM's
     * max_num_batched_tokens).
     */
    static final int DEFAULT_MAX_NODES = 1024;
    /** Trees per pass at most. */
    static final int MAX_SEQUENCES = 64;
    private static final long MIN_WAIT_NANOS = 50_000;
    private static final long MAX_WAIT_NANOS = 5_000_000;
    private static final int CORES = Runtime.getRuntime().availableProcessors();
    /**
     * Generations that may spin at most (see {@link #spins}): the cores unless told otherwise
     * ({@code aded.scheduler.spinning}). On an H100 host of 16 cores, 16 streams parked (15) or spinning gave the
     * same tokens a second within that machine's spread (2026-12-07, docs/benchmarks.md).
     */
    private static final int SPINNING = Integer.getInteger("aded.scheduler.spinning", CORES);
    private static final long SPIN_ROUND_NANOS = 5_000_000;

    /** What a generation does with its logits, on its own thread: accept a path, commit it, say how many tokens. */
    interface Acceptance {
        int accept(TreeLogits logits);
    }

    /**
     * A step's outcome: tokens produced, trees in its pass and their nodes (roots included), the time it took under
     * the device lock (the pass and this generation's acceptance), the pass's own time, from its start until its
     * results were back (shared by its trees), how long the step waited for its pass to start, and that pass's
     * number (passes are numbered as they start, so a generation whose passes' numbers leap was left out of those
     * between: its tree was not ready, or did not fit).
     */
    record Outcome(int produced, int sequences, int nodes, long stepNanos, long passNanos, long queueNanos,
            long pass) {}

    /**
     * A pass's trees and their nodes in all: the last one's is what a generation's next tree will likely share a
     * pass with, which prices it ({@link VerifierCostModel#sharedCurve}).
     */
    record Pass(int trees, int nodes) {
        static final Pass ALONE = new Pass(1, 1);

        /** Nodes in a pass like this one with a tree of {@code k} nodes in place of one of the mean size. */
        int with(int k) {
            return trees <= 1 ? k : nodes - nodes / trees + k;
        }
    }

    private final TargetModel model;
    private final Lock deviceLock;
    private final int maxNodes;
    /** Guards the queue and the state of the passes; never held while a pass runs or a generation accepts. */
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Step> waiting = new ArrayDeque<>();
    /** Generations stepping; written under {@link #lock}, read without it to choose between spinning and parking. */
    private volatile int running;
    private boolean passing;
    /**
     * The last round's time, from a pass's start until its last generation accepted: how long a generation may keep
     * the others waiting is a share of it.
     */
    private volatile long lastRoundNanos;
    /**
     * When the device was last freed: a step's wait counts from then at the earliest, so that the trees released by
     * that pass, accepting and drafting now, can join the next one rather than find it gone.
     */
    private long freedAt;
    private volatile Pass lastPass = Pass.ALONE;
    /** Passes started so far: the next one's number. */
    private long passes;
    /** Of them, those that started when the oldest step's wait ran out, a running generation's tree not ready. */
    private long startedByWait;

    /** @param maxNodes tree nodes one pass verifies at most; a tree larger than that still runs, alone */
    StepScheduler(TargetModel model, Lock deviceLock, int maxNodes) {
        this.model = model;
        this.deviceLock = deviceLock;
        this.maxNodes = maxNodes;
    }

    int maxNodes() {
        return maxNodes;
    }

    /** The trees and nodes of the pass that started last. */
    Pass lastPass() {
        return lastPass;
    }

    /** Passes started so far, and how many of them the wait started. */
    Generator.PassCounts counts() {
        lock.lock();
        try {
            return new Generator.PassCounts(passes, startedByWait);
        } finally {
            lock.unlock();
        }
    }

    /** A generation starts stepping: passes wait for its tree too. */
    void join() {
        lock.lock();
        try {
            running++;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Draft nodes a generation's tree may hold now, its root not counted: an equal share of a pass's node budget
     * among the running generations, so that all of their trees fit one pass (at 64 generations of 64-node trees,
     * a pass would hold 16 of them and a round take four passes). Unbounded in effect for a lone generation.
     */
    int draftNodeShare() {
        lock.lock();
        try {
            return Math.max(1, maxNodes / Math.max(1, running) - 1);
        } finally {
            lock.unlock();
        }
    }

    /** A generation has ended: passes no longer wait for it, so the waiting ones may be complete now. */
    void leave() {
        lock.lock();
        try {
            running--;
            wakeOldest();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Verifies {@code tree} on {@code session} in the next pass and runs {@code acceptance} on its logits. Blocks
     * until then; an interrupt is kept for the caller to see afterwards, since a step taken into a pass has to
     * finish with it.
     *
     * @param meanwhile work of the caller's own to do while the pass runs (null for none), before the acceptance:
     *     the leader of a pass does it once its pass is issued, while the device computes (a GPU step's results are
     *     awaited only after it); a generation that waits does it before it sleeps. It must not block: a leader holds
     *     the device meanwhile. What it throws is thrown in place of the acceptance.
     */
    Outcome step(ModelSession session, DraftTree tree, boolean readsLogits, Runnable meanwhile,
            Acceptance acceptance) {
        Step me = new Step(session, tree, readsLogits, Thread.currentThread(), meanwhile);
        lock.lock();
        try {
            waiting.add(me);
        } finally {
            lock.unlock();
        }
        Batch led = null;
        // parkNanos returns at once while the interrupt flag is set: clear it while waiting, restore it after.
        boolean interrupted = false;
        while (me.state == WAITING) {
            Batch batch = lead();
            if (batch == null) {
                if (me.doMeanwhile()) {
                    continue; // it took time: the pass may be ready to lead now
                }
                long nanos = parkNanos();
                if (spins()) {
                    spin(me, nanos);
                } else {
                    LockSupport.parkNanos(this, nanos);
                    interrupted |= Thread.interrupted();
                }
                continue;
            }
            deviceLock.lock();
            batch.start = System.nanoTime();
            run(batch, me);
            if (me.batch == batch) {
                led = batch;
            } else {
                // The oldest steps filled the pass without this one: see it through, then wait for the next.
                interrupted |= finish(batch);
            }
        }
        try {
            long accepting = System.nanoTime();
            int produced;
            try {
                me.doMeanwhile();
                if (me.meanwhileFailure instanceof Error e) {
                    throw e;
                }
                if (me.meanwhileFailure != null) {
                    throw (RuntimeException) me.meanwhileFailure;
                }
                if (me.failure != null) {
                    throw me.failure;
                }
                produced = acceptance.accept(me.logits);
            } finally {
                if (me.batch.done()) {
                    roundEnded(me.batch);
                }
            }
            long own = led != null ? System.nanoTime() - led.start
                    : me.batch.passNanos + (System.nanoTime() - accepting);
            return new Outcome(produced, me.batch.steps.length, me.batch.nodes, own, me.batch.passNanos,
                    me.batch.start - me.since, me.batch.number);
        } finally {
            if (led != null) {
                interrupted |= finish(led);
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A batch for the calling thread to run, when a pass should start and none is running; else null. */
    private Batch lead() {
        lock.lock();
        try {
            Start start = passing ? Start.NOT_YET : start();
            if (start == Start.NOT_YET) {
                return null;
            }
            if (start == Start.WAITED) {
                startedByWait++;
            }
            passing = true;
            Step[] steps = take();
            return new Batch(steps, lastPass.nodes(), Thread.currentThread(), passes++);
        } finally {
            lock.unlock();
        }
    }

    /** How long a waiting step sleeps before looking again: until the oldest step's wait runs out. */
    private long parkNanos() {
        lock.lock();
        try {
            Step oldest = waiting.peek();
            if (passing || oldest == null) {
                return MAX_WAIT_NANOS;
            }
            return Math.max(1, waitNanos() - (System.nanoTime() - waitedSince(oldest)));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether waiting steps spin rather than park: a parked thread takes tens of microseconds to wake, which a round
     * of 16 code-15m trees on a GPU pays 16 times, and a 7B-shape round of 15 ms or more hardly notices. Only while
     * rounds are that short, which a CPU's are not (its pass wants every core), and while every generation has a
     * core of its own, so that the one leading a pass is never short of one. Rounds of 16 code-15m streams took 2.5
     * to 3.4 ms on an H100 (passes of 1.7 to 2.2 ms and the acceptances), past the 2 ms this bound once was.
     */
    private boolean spins() {
        return running <= SPINNING && lastRoundNanos < SPIN_ROUND_NANOS;
    }

    /** Waits up to {@code nanos} for {@code me}'s pass to have run or for a nudge ({@link #wakeOldest}), spinning. */
    private static void spin(Step me, long nanos) {
        long until = System.nanoTime() + nanos;
        while (me.state == WAITING && !me.nudged && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        me.nudged = false;
    }

    /** Lets the oldest waiting step look whether it can lead a pass now. Holds {@link #lock}. */
    private void wakeOldest() {
        Step oldest = waiting.peek();
        if (oldest != null) {
            oldest.nudged = true;
            LockSupport.unpark(oldest.thread);
        }
    }

    /** Why a pass starts, or that it should not yet. */
    private enum Start { NOT_YET, COMPLETE, WAITED }

    /**
     * Whether a pass should start now: every running generation waits or the budget is full (complete), or the
     * oldest has waited long enough.
     */
    private Start start() {
        if (waiting.isEmpty()) {
            return Start.NOT_YET;
        }
        if (waiting.size() >= running || waiting.size() >= MAX_SEQUENCES) {
            return Start.COMPLETE;
        }
        int nodes = 0;
        for (Step s : waiting) {
            nodes += s.tree.size();
        }
        if (nodes >= maxNodes) {
            return Start.COMPLETE;
        }
        return System.nanoTime() - waitedSince(waiting.peek()) >= waitNanos() ? Start.WAITED : Start.NOT_YET;
    }

    /** Since when a step has waited for a pass to start: its queueing, or the device's last release if later. */
    private long waitedSince(Step step) {
        return Math.max(step.since, freedAt);
    }

    private long waitNanos() {
        return Math.max(MIN_WAIT_NANOS, Math.min(MAX_WAIT_NANOS, lastRoundNanos / 4));
    }

    /** The oldest waiting steps that fit one pass, always at least one; their shape becomes {@link #lastPass}. */
    private Step[] take() {
        int count = 0;
        int nodes = 0;
        for (Step s : waiting) {
            if (count == MAX_SEQUENCES || (count > 0 && nodes + s.tree.size() > maxNodes)) {
                break;
            }
            count++;
            nodes += s.tree.size();
        }
        Step[] batch = new Step[count];
        for (int i = 0; i < count; i++) {
            batch[i] = waiting.poll();
        }
        lastPass = new Pass(count, nodes);
        return batch;
    }

    /**
     * One pass over the batch, under the device lock; each step gets its logits or its failure. The leader's own
     * work {@code meanwhile} runs while the device computes. Frees the device and the next pass at once when no step
     * reads logits.
     */
    private void run(Batch batch, Step leader) {
        verify(batch.steps, 0, batch.steps.length);
        for (Step s : batch.steps) {
            if (s == leader) {
                leader.doMeanwhile();
            }
        }
        for (Step s : batch.steps) {
            if (s.failure == null) {
                try {
                    s.logits.await();
                } catch (RuntimeException e) {
                    s.failure = e;
                }
            }
        }
        batch.passNanos = System.nanoTime() - batch.start;
        boolean argmaxOnly = true;
        for (Step s : batch.steps) {
            argmaxOnly &= !s.readsLogits;
        }
        if (argmaxOnly) {
            release(batch);
        }
        for (Step s : batch.steps) {
            s.batch = batch;
            s.state = READY;
            LockSupport.unpark(s.thread);
        }
    }

    /**
     * Runs the trees of {@code steps[from, from + k)} in one pass and gives each step its logits. When the pass
     * fails, each tree runs again alone, so that it passes or fails on its own account.
     */
    private void verify(Step[] steps, int from, int k) {
        ModelSession[] sessions = new ModelSession[k];
        DraftTree[] trees = new DraftTree[k];
        for (int i = 0; i < k; i++) {
            sessions[i] = steps[from + i].session;
            trees[i] = steps[from + i].tree;
        }
        try {
            TreeLogits[] logits = model.forwardAll(sessions, trees, k);
            for (int i = 0; i < k; i++) {
                steps[from + i].logits = logits[i];
            }
        } catch (RuntimeException | Error e) {
            if (k > 1) {
                for (int i = 0; i < k; i++) {
                    verify(steps, from + i, 1);
                }
            } else {
                steps[from].failure = e instanceof RuntimeException r ? r : new GenerationFailedException(e);
            }
        }
    }

    /**
     * The leader's end of a pass: once every step in it has accepted, the device and the next pass are free (a
     * pass that reads argmaxes alone freed them already). Returns whether the thread was interrupted meanwhile.
     */
    private boolean finish(Batch batch) {
        if (batch.released) {
            return false;
        }
        boolean interrupted = false;
        while (batch.remaining.get() > 0) {
            LockSupport.parkNanos(this, MAX_WAIT_NANOS);
            interrupted |= Thread.interrupted();
        }
        release(batch);
        return interrupted;
    }

    /** Frees the device and lets the next pass start. On the leader's thread, which holds the device lock. */
    private void release(Batch batch) {
        batch.released = true;
        deviceLock.unlock();
        lock.lock();
        try {
            passing = false;
            freedAt = System.nanoTime();
            wakeOldest();
        } finally {
            lock.unlock();
        }
    }

    /** The last acceptance of a pass: the round's time is known now. */
    private void roundEnded(Batch batch) {
        lock.lock();
        try {
            lastRoundNanos = System.nanoTime() - batch.start;
        } finally {
            lock.unlock();
        }
    }

    /** The steps of one pass, and the count of those still accepting: the pass ends when it reaches 0. */
    private static final class Batch {
        final Step[] steps;
        final Thread leader;
        final long number;
        /** The trees' nodes, roots included, as the pass started ({@link #take}): each tree is redrawn after it. */
        final int nodes;
        final AtomicInteger remaining;
        long start;
        long passNanos;
        /** Whether the device and the next pass are free already: see {@link #run}. */
        boolean released;

        Batch(Step[] steps, int nodes, Thread leader, long number) {
            this.steps = steps;
            this.nodes = nodes;
            this.leader = leader;
            this.number = number;
            this.remaining = new AtomicInteger(steps.length);
        }

        /** One step has accepted; returns whether it was the last. */
        boolean done() {
            if (remaining.decrementAndGet() == 0) {
                LockSupport.unpark(leader);
                return true;
            }
            return false;
        }
    }

    private static final int WAITING = 0;
    private static final int READY = 1;

    /** One generation's tree waiting for, or taken into, a pass; its thread sleeps until the pass has run. */
    private static final class Step {
        final ModelSession session;
        final DraftTree tree;
        /** Whether the acceptance reads logits, which the next pass may overwrite, and not argmaxes alone. */
        final boolean readsLogits;
        final Thread thread;
        /** The generation's own work while the pass runs; null once done. */
        private Runnable meanwhile;
        Throwable meanwhileFailure;
        final long since = System.nanoTime();
        /** Written by the pass's leader before {@link #state}, read by this step's thread after it. */
        TreeLogits logits;
        RuntimeException failure;
        Batch batch;
        volatile int state = WAITING;
        /** Set when the step should look again whether it can lead a pass: {@link #wakeOldest}. */
        volatile boolean nudged;

        Step(ModelSession session, DraftTree tree, boolean readsLogits, Thread thread, Runnable meanwhile) {
            this.session = session;
            this.tree = tree;
            this.readsLogits = readsLogits;
            this.thread = thread;
            this.meanwhile = meanwhile;
        }

        /** Does the step's own work unless done already; returns whether it did it now. On the step's thread. */
        boolean doMeanwhile() {
            Runnable work = meanwhile;
            if (work == null) {
                return false;
            }
            meanwhile = null;
            try {
                work.run();
            } catch (RuntimeException | Error e) {
                meanwhileFailure = e;
            }
            return true;
        }
    }
}
