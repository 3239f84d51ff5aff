package dev.aded.core;

/** The model's next-token scores at every node of a verified tree. */
public interface TreeLogits {

    /** The highest-scoring next token after {@code node} (ties go to the lower id, as in argmax). */
    int argmax(int node);

    /**
     * Waits until the pass's results are on the host, where the pass runs on while its caller does other work (a
     * GPU step whose graph replay was only started); {@link #argmax} waits by itself.
     */
    default void await() {}

    /** Copies the raw logits after {@code node} into {@code out[0, vocabSize)}. */
    void logits(int node, float[] out);
}
