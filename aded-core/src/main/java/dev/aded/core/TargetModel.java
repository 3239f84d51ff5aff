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

    /**
     * Runs the trees of several of this model's sessions, {@code trees[i]} on {@code sessions[i]} for i below
     * {@code count}, and returns their logits in that order: in one forward pass where the model batches sessions
     * (a GPU does little more work for many sequences than for one), otherwise one after another. Each result is
     * valid until the next call into any of these sessions; each session is then ready for its
     * {@link ModelSession#commit}.
     */
    default TreeLogits[] forwardAll(ModelSession[] sessions, DraftTree[] trees, int count) {
        TreeLogits[] out = new TreeLogits[count];
        for (int i = 0; i < count; i++) {
            out[i] = sessions[i].forward(trees[i]);
        }
        return out;
    }

    /**
     * The node count a pass over {@code nodes} tree nodes costs as: more where the model pads its passes to fixed
     * shapes (CUDA graphs of power-of-two sizes), which makes every tree up to that size as cheap.
     */
    default int paddedNodes(int nodes) {
        return nodes;
    }

    /**
     * Does ahead of time the one-off work that steps of up to {@code maxNodes} tree nodes in sessions of up to
     * {@code maxTokens} tokens would otherwise do on first use (on a GPU: capturing their CUDA graphs). Not
     * thread-safe against running steps: call under the generator's device lock.
     */
    default void prepare(int maxTokens, int maxNodes) {}

    @Override
    void close();
}
