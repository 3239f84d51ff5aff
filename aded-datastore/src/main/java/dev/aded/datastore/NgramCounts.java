package dev.aded.datastore;

/**
 * Read access to next-token counts: for a context of the two previous tokens (a, b), the tokens c that followed
 * and how often (the tri-gram matrix), and for one previous token b the same back-off table (bigrams).
 *
 * <p>Lookups write into caller-owned arrays and never allocate, so a drafter can call them millions of times.
 * Entries come most frequent first, ties broken by the lower token id. Implementations are safe for concurrent
 * readers.
 */
public interface NgramCounts {

    /** The vocabulary size of the tokenizer the counts were made with. */
    int vocabSize();

    /** The most entries one lookup can write: arrays passed to lookups must be at least this long. */
    int maxEntries();

    /**
     * Writes the continuations of (a, b) into {@code tokens} and {@code counts} and returns how many there are
     * (0 when the context was never seen).
     */
    int trigram(int a, int b, int[] tokens, int[] counts);

    /** Writes the continuations of b alone, the back-off when (a, b) is unseen; returns how many. */
    int bigram(int b, int[] tokens, int[] counts);

    /**
     * Fails with an {@link IllegalArgumentException} naming the datastore and the problem when these counts were
     * made with another tokenizer than {@code tokenizerJson} (compared by fingerprint) or another vocabulary size.
     */
    void requireTokenizer(java.nio.file.Path tokenizerJson, int vocabSize);
}
