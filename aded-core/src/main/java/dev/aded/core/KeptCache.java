package dev.aded.core;

import java.util.Arrays;

/**
 * A model session kept from one generation to the next, with the tokens its cache holds, so that the next prompt
 * prefills only what differs from them (a chat's new turn). Used by one generation at a time.
 */
final class KeptCache implements AutoCloseable {
    private final ModelSession session;
    private final int capacity;
    private int[] tokens = new int[0];

    /** Opens a session of {@code capacity} tokens on {@code model}; the caller holds the device lock. */
    KeptCache(TargetModel model, int capacity) {
        this.session = model.newSession(capacity);
        this.capacity = capacity;
    }

    /** The most tokens the cache holds. */
    int capacity() {
        return capacity;
    }

    ModelSession session() {
        return session;
    }

    /**
     * Cuts the cache back to the longest prefix it shares with {@code prompt[0, length)}, short of the prompt's last
     * token (the first step's tree root), and returns that prefix's length.
     */
    int reuse(int[] prompt, int length) {
        int limit = Math.min(Math.min(tokens.length, session.cachedLength()), length - 1);
        int shared = Arrays.mismatch(tokens, 0, limit, prompt, 0, limit);
        shared = shared < 0 ? limit : shared;
        session.truncate(shared);
        return shared;
    }

    /**
     * Records what the cache holds after a generation over {@code sequence[0, length)}: those tokens as far as the
     * cache goes; entries past them (draft tokens accepted after the stop) are forgotten.
     */
    void keep(int[] sequence, int length) {
        int n = Math.min(session.cachedLength(), length);
        session.truncate(n);
        tokens = Arrays.copyOf(sequence, n);
    }

    /** After a failure the cache's content is unknown: start from nothing. */
    void forget() {
        tokens = new int[0];
        session.truncate(0);
    }

    int length() {
        return tokens.length;
    }

    @Override
    public void close() {
        session.close();
    }
}
