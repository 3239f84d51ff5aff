package dev.aded.examples.server;

import java.io.IOException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many generations run at once and how many may wait for a turn. Generations on one model interleave step by
 * step, so each one running slows the others and holds a KV cache; past {@code parallel} they wait in a queue of
 * at most {@code maxQueue}, and a request beyond that is refused with 429 at once instead of waiting unseen.
 */
final class Admission {
    /** How often a waiting request checks that its client is still there. */
    static final long BEAT_MILLIS = 1000;

    private final Semaphore slots;
    private final int maxQueue;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();

    /** Called while a request waits; throws when its client has gone. */
    interface Heartbeat {
        void beat() throws IOException;
    }

    Admission(int parallel, int maxQueue) {
        if (parallel < 1 || maxQueue < 0) {
            throw new IllegalArgumentException("--parallel must be >= 1 and --max-queue >= 0, got " + parallel
                    + " and " + maxQueue);
        }
        this.slots = new Semaphore(parallel, true);
        this.maxQueue = maxQueue;
    }

    /**
     * Takes a running slot or a place in the queue, or refuses with 429 when the queue is full. Close the ticket
     * whatever happens next.
     */
    Ticket enter() {
        if (slots.tryAcquire()) {
            running.incrementAndGet();
            return new Ticket(true);
        }
        if (waiting.incrementAndGet() > maxQueue) {
            waiting.decrementAndGet();
            throw new ApiException(429, "rate_limit_exceeded", "queue_full", null, "the server is busy: "
                    + running.get() + " requests running and " + waiting.get() + " waiting; retry later");
        }
        return new Ticket(false);
    }

    /** One request's place: a running slot, or a place in the queue until {@link #awaitTurn} gets it one. */
    final class Ticket implements AutoCloseable {
        private boolean runningSlot;
        private boolean queued;

        private Ticket(boolean runningSlot) {
            this.runningSlot = runningSlot;
            this.queued = !runningSlot;
        }

        /** Waits for a running slot, beating every second; the heartbeat's exception ends the wait. */
        void awaitTurn(Heartbeat heartbeat) throws IOException, InterruptedException {
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

    int waiting() {
        return waiting.get();
    }

    int running() {
        return running.get();
    }
}
