package dev.aded.core;

/**
 * One sequence's state inside a {@link TargetModel}: the key/value cache of the tokens accepted so far. Calls run
 * in the order prefill → (forward → commit)*, and {@link #truncate} may start the order again. Not thread-safe:
 * one generation owns a session.
 */
public interface ModelSession extends AutoCloseable {

    /** Tokens whose key/value entries are in the cache. */
    int cachedLength();

    /** Appends {@code tokens[from, to)} to the cache; no logits are produced. */
    void prefill(int[] tokens, int from, int to);

    /**
     * Runs the model once over the whole tree: node {@code i} sits at position {@code cachedLength() +
     * tree.depth(i)} and attends to the cache and to its own ancestors. The result is valid until the next call on
     * this session.
     */
    TreeLogits forward(DraftTree tree);

    /**
     * Keeps the cache entries of {@code path[0, count)}, nodes of the last forward's tree from the root down one
     * branch, and drops the rest, so the cache then ends with that path. Host bookkeeping that the next pass acts on
     * (a greedy generation commits while another generation's pass runs, see {@link StepScheduler}).
     */
    void commit(int[] path, int count);

    /**
     * Keeps the first {@code length} cached tokens and forgets the rest, so that a sequence sharing that prefix goes
     * on from there (a chat's next turn) without running the prefix again.
     *
     * @throws IllegalArgumentException when {@code length} is negative or more than {@link #cachedLength()}
     */
    void truncate(int length);

    @Override
    void close();
}
