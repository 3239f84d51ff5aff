package dev.aded.core;

/**
 * Lets another thread stop a generation. The generation ends after its current step with
 * {@link FinishReason#CANCELLED}, its text so far intact, and the model stays usable.
 */
public final class Cancellation {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }
}
