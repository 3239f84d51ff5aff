package dev.aded.core;

/**
 * The large model whose output speculative decoding must reproduce. Implementations hold the weights; each
 * {@link ModelSession} holds one sequence's key/value cache.
 */
public interface TargetModel extends AutoCloseable {

    /** A short description for statistics, such as the model folder's name. */
    String name();

    /** Where the model runs, such as {@code "cpu"} or {@code "gpu(0)"}. */
    String device();

    int vocabSize();

    /** The longest sequence (prompt plus generated tokens) the model can attend over. */
    int maxContext();

    /** Token ids that end a generation, from the model's configuration. */
    int[] eosTokenIds();

    /**
     * Opens a session whose cache holds up to {@code maxTokens} tokens.
     *
     * @throws IllegalArgumentException when {@code maxTokens} exceeds {@link #maxContext()}
     * @throws DeviceMemoryException when the device cannot hold the cache
     */
    ModelSession newSession(int maxTokens);

    @Override
    void close();
}
