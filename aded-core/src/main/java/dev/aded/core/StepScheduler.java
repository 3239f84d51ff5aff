package dev.aded.core;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Verifies the draft trees of a generator's running generations together, as vLLM's scheduler steps every running
 * sequence at once: a pass takes the steps that are waiting (up to {@link #MAX_NODES} nodes and
 * {@link #MAX_SEQUENCES} trees, oldest first), runs them through one {@link TargetModel#forwardAll} under the
 * device lock, hands each generation its logits, and ends once each has accepted and committed its path on its own
 * thread. Then the next pass may start.
 *
 * <p>A pass starts when every running generation has its tree ready, or when the oldest waiting step has waited a
 * quarter of the last pass's time: a generation slow to draft, or whose listener blocks, joins a later pass instead
 * of holding up the others. New generations join after their prefill (continuous batching); finished, cancelled
 * and failed ones leave without disturbing the rest. When a batched pass fails, each of its trees runs again alone,
 * so a failure stays with the generation that caused it.
 *
 * <p>The scheduler has no thread of its own: the generation whose step completes a round, or whose wait runs out,
 * runs the pass for everyone in it. A lone generation thus runs each step on its own thread without a hand-over.
 */
final class StepScheduler {
    /** Tree nodes per pass at most: bounds the pass's activations and its padding. */
    static final int MAX_NODES = 1024;
    /** Trees per pass at most. */
    static final int MAX_SEQUENCES = 64;
    private static final long MIN_WAIT_NANOS = 50_000;
    private static final long MAX_WAIT_NANOS = 5_000_000;

    /** What a generation does with its logits, on its own thread: accept a path, commit it, say how many tokens. */
    interface Acceptance {
        int accept(TreeLogits logits);
    }

    /**
     * A step's outcome: tokens produced, trees in its pass, and the time it took under the device lock (the pass
     * and this generation's acceptance).
     */
    record Outcome(int produced, int sequences, long stepNanos) {}

    private final TargetModel model;
    private final Lock deviceLock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Step> waiting = new ArrayDeque<>();
    private int running;
    private boolean passing;
    private long lastPassNanos;

    StepScheduler(TargetModel model, Lock deviceLock) {
        this.model = model;
        this.deviceLock = deviceLock;
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

    /** A generation has ended: passes no longer wait for it. */
    void leave() {
        lock.lock();
        try {
            running--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Verifies {@code tree} on {@code session} in the next pass and runs {@code acceptance} on its logits. Blocks
     * until then; an interrupt is kept for the caller to see afterwards, since a step taken into a pass has to
     * finish with it.
     */
    Outcome step(ModelSession session, DraftTree tree, Acceptance acceptance) {
        Step me = new Step(session, tree);
        Step[] batch = null;
        boolean interrupted = false;
        lock.lock();
        try {
            waiting.add(me);
            changed.signalAll();
            while (me.logits == null && me.failure == null) {
                if (!passing && ready()) {
                    batch = take();
                    passing = true;
                    break;
                }
                try {
                    if (waiting.isEmpty() || passing) {
                        changed.await();
                    } else {
                        changed.awaitNanos(Math.max(1, waitNanos() - (System.nanoTime() - waiting.peek().since)));
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            lock.unlock();
        }
        if (batch != null) {
            deviceLock.lock();
        }
        // Timed inside the device lock: waiting for a prefill is not what the verifier charges.
        long t0 = System.nanoTime();
        if (batch != null) {
            run(batch);
        }
        try {
            long accepting = System.nanoTime();
            int produced;
            try {
                if (me.failure != null) {
                    throw me.failure;
                }
                produced = acceptance.accept(me.logits);
            } finally {
                done(me);
            }
            long own = me.passNanos + (System.nanoTime() - accepting);
            return new Outcome(produced, me.sequences, batch != null ? System.nanoTime() - t0 : own);
        } finally {
            if (batch != null) {
                finish(batch, System.nanoTime() - t0);
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether a pass should start now: every running generation waits, the budget is full, or the oldest waited long enough. */
    private boolean ready() {
        if (waiting.isEmpty()) {
            return false;
        }
        if (waiting.size() >= running || waiting.size() >= MAX_SEQUENCES) {
            return true;
        }
        int nodes = 0;
        for (Step s : waiting) {
            nodes += s.tree.size();
        }
        return nodes >= MAX_NODES || System.nanoTime() - waiting.peek().since >= waitNanos();
    }

    private long waitNanos() {
        return Math.max(MIN_WAIT_NANOS, Math.min(MAX_WAIT_NANOS, lastPassNanos / 4));
    }

    /** The oldest waiting steps that fit one pass; always at least one. */
    private Step[] take() {
        int count = 0;
        int nodes = 0;
        for (Step s : waiting) {
            if (count == MAX_SEQUENCES || (count > 0 && nodes + s.tree.size() > MAX_NODES)) {
                break;
            }
            count++;
            nodes += s.tree.size();
        }
        Step[] batch = new Step[count];
        for (int i = 0; i < count; i++) {
            batch[i] = waiting.poll();
        }
        return batch;
    }

    /** One pass over the batch, under the device lock; each step gets its logits or its failure. */
    private void run(Step[] batch) {
        int k = batch.length;
        ModelSession[] sessions = new ModelSession[k];
        DraftTree[] trees = new DraftTree[k];
        for (int i = 0; i < k; i++) {
            sessions[i] = batch[i].session;
            trees[i] = batch[i].tree;
        }
        long t0 = System.nanoTime();
        TreeLogits[] logits = null;
        RuntimeException failure = null;
        try {
            logits = model.forwardAll(sessions, trees, k);
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) {
            failure = new GenerationFailedException(e);
        }
        if (failure != null && k > 1) {
            // Alone, each tree either passes or fails on its own account.
            for (Step s : batch) {
                runAlone(s);
            }
            return;
        }
        long nanos = System.nanoTime() - t0;
        lock.lock();
        try {
            for (int i = 0; i < k; i++) {
                batch[i].sequences = k;
                batch[i].passNanos = nanos;
                if (failure != null) {
                    batch[i].failure = failure;
                } else {
                    batch[i].logits = logits[i];
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void runAlone(Step s) {
        long t0 = System.nanoTime();
        TreeLogits logits = null;
        RuntimeException failure = null;
        try {
            logits = model.forwardAll(new ModelSession[] {s.session}, new DraftTree[] {s.tree}, 1)[0];
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) {
            failure = new GenerationFailedException(e);
        }
        lock.lock();
        try {
            s.sequences = 1;
            s.passNanos = System.nanoTime() - t0;
            s.logits = logits;
            s.failure = failure;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void done(Step s) {
        lock.lock();
        try {
            s.done = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The leader's end of a pass: once every step in it has accepted, the device and the next pass are free. */
    private void finish(Step[] batch, long nanos) {
        lock.lock();
        try {
            boolean interrupted = false;
            for (Step s : batch) {
                while (!s.done) {
                    try {
                        changed.await(1, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            passing = false;
            lastPassNanos = nanos;
            changed.signalAll();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        } finally {
            lock.unlock();
            deviceLock.unlock();
        }
    }

    /** One generation's tree waiting for, or taken into, a pass. */
    private static final class Step {
        final ModelSession session;
        final DraftTree tree;
        final long since = System.nanoTime();
        TreeLogits logits;
        RuntimeException failure;
        int sequences;
        long passNanos;
        boolean done;

        Step(ModelSession session, DraftTree tree) {
            this.session = session;
            this.tree = tree;
        }
    }
}
