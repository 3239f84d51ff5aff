package dev.aded.core;

import java.util.Arrays;

/**
 * A model session kept from one generation to the next, with the tokens its cache holds, so that the next prompt
 * prefills only what differs from them: a chat's new turn ({@link ChatSession}), or a server's next request that
 * repeats a conversation so far (prefix caching). Made by {@link Generator#newPrefixCache()}, given to
 * {@link Generator#generateTokens(int[], GenerationConfig, TextListener, Cancellation, PrefixCache)}; used by one
 * generation at a time; close it to free the cache.
 */
public final class PrefixCache implements AutoCloseable {
    private final ModelSession session;
    private final int capacity;
    private int[] tokens = new int[0];
    private int reused;

    /** Opens a session of {@code capacity} tokens on {@code model}; the caller holds the device lock. */
    PrefixCache(TargetModel model, int capacity) {
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
        int shared = sharedPrefix(prompt, length);
        session.truncate(shared);
        reused = shared;
        return shared;
    }

    /**
     * How many leading tokens of {@code prompt} a generation would find in the cache (its last token always runs):
     * what to choose a cache by when there are several.
     */
    public int sharedPrefix(int[] prompt) {
        return sharedPrefix(prompt, prompt.length);
    }

    private int sharedPrefix(int[] prompt, int length) {
        int limit = Math.max(0, Math.min(Math.min(tokens.length, session.cachedLength()), length - 1));
        int shared = Arrays.mismatch(tokens, 0, limit, prompt, 0, limit);
        return shared < 0 ? limit : shared;
    }

    /** The prompt tokens the last generation found in the cache and did not run through the model again. */
    public int lastReused() {
        return reused;
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
        reused = 0;
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
