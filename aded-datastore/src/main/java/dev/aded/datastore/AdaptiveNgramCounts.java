package dev.aded.datastore;

/** {@link NgramCounts} that learn: tokens a model actually produced are counted on top of the corpus counts. */
public interface AdaptiveNgramCounts extends NgramCounts {

    /**
     * Counts the tri-grams and bigrams ending at positions {@code [from, to)} of {@code tokens}, each with the
     * tokens before it as context (positions without two predecessors count only as bigrams). Safe to call from
     * many threads at once, also while others read.
     */
    void observe(int[] tokens, int from, int to);
}
