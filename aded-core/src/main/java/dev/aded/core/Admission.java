package dev.aded.core;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many generations run at once and how many may wait for a turn. Each running generation holds a KV cache
 * (a slot of the model's batch, see {@link TargetModel#forwardAll}); past {@code running} they wait in a queue of
 * at most {@code maxQueue}, and one beyond that is refused at once with {@link GeneratorBusyException} instead of
 * waiting unseen. Used by a {@link Generator} built with {@link Generator.Builder#admission}, and by a server in
 * front of one.
 */
public final class Admission {
    /** How often a waiting generation checks whether it is still wanted. */
    public static final long BEAT_MILLIS = 1000;

    private final Semaphore slots;
    private final int maxQueue;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();

    /** Called while a generation waits; throws to end the wait (its client has gone, say). */
    public interface Heartbeat<E extends Exception> {
        void beat() throws E;
    }

    /**
     * @param running generations that run at once, at least 1
     * @param maxQueue generations that may wait for a turn, at least 0
     */
    public Admission(int running, int maxQueue) {
        if (running < 1 || maxQueue < 0) {
            throw new IllegalArgumentException("admission needs at least 1 running generation and a queue of at"
                    + " least 0, got " + running + " and " + maxQueue);
        }
        this.slots = new Semaphore(running, true);
        this.maxQueue = maxQueue;
    }

    /**
     * Takes a running slot or a place in the queue. Close the ticket whatever happens next.
     *
     * @throws GeneratorBusyException when the queue is full
     */
    public Ticket enter() {
        if (slots.tryAcquire()) {
            running.incrementAndGet();
            return new Ticket(true);
        }
        if (waiting.incrementAndGet() > maxQueue) {
            waiting.decrementAndGet();
            throw new GeneratorBusyException(running.get(), waiting.get(), maxQueue);
        }
        return new Ticket(false);
    }

    /** One generation's place: a running slot, or a place in the queue until {@link #awaitTurn} gets it one. */
    public final class Ticket implements AutoCloseable {
        private boolean runningSlot;
        private boolean queued;

        private Ticket(boolean runningSlot) {
            this.runningSlot = runningSlot;
            this.queued = !runningSlot;
        }

        /** Waits for a running slot, beating every second; the heartbeat's exception ends the wait. */
        public <E extends Exception> void awaitTurn(Heartbeat<E> heartbeat) throws E, InterruptedException {
            while (!runningSlot) {
                if (slots.tryAcquire(BEAT_MILLIS, TimeUnit.MILLISECONDS)) {
                    waiting.decrementAndGet();
                    queued = false;
                    running.incrementAndGet();
                    runningSlot = true;
                } else {
                    heartbeat.beat();
                }
            }
        }

        @Override
        public void close() {
            if (runningSlot) {
                running.decrementAndGet();
                slots.release();
                runningSlot = false;
            } else if (queued) {
                waiting.decrementAndGet();
                queued = false;
            }
        }
    }

    public int waiting() {
        return waiting.get();
    }

    public int running() {
        return running.get();
    }
}
