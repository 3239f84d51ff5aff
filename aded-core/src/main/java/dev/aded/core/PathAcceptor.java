package dev.aded.core;

import java.util.SplittableRandom;

/**
 * Walks a verified draft tree from the root and keeps the longest path the model agrees with.
 *
 * <p>At each node the model's own next token is chosen exactly as plain decoding would choose it (argmax, or one
 * draw from the processed distribution); if a child carries that token the walk moves there, otherwise that token
 * is the step's bonus token and the walk ends. For sampling this is recursive rejection sampling over the
 * siblings with one-hot proposals: the tree's tokens are picked deterministically, not sampled from the drafter's
 * probabilities, and with one-hot proposals the chance of ending on any token equals the model's probability of
 * it. Using the drafter's soft probabilities as proposals would bias the output, because the drafts were never
 * drawn from them.
 */
final class PathAcceptor {
    private final Sampler sampler;
    private final float[] row;

    PathAcceptor(int vocabSize, GenerationConfig config) {
        this.sampler = config.greedy() ? null
                : new Sampler(vocabSize, config.temperature(), config.topK(), config.topP());
        this.row = config.greedy() ? null : new float[vocabSize];
    }

    /**
     * Fills {@code path} with the root and the accepted nodes and {@code tokens} with the step's new tokens (the
     * accepted draft tokens, then the bonus token); returns the number of new tokens, which is also the path's
     * length.
     */
    int accept(DraftTree tree, TreeLogits logits, SplittableRandom random, int[] path, int[] tokens) {
        int node = 0;
        int n = 0;
        while (true) {
            path[n] = node;
            int next = choose(logits, node, random);
            tokens[n++] = next;
            int child = tree.child(node, next);
            if (child < 0) {
                return n;
            }
            node = child;
        }
    }

    private int choose(TreeLogits logits, int node, SplittableRandom random) {
        if (sampler == null) {
            return logits.argmax(node);
        }
        logits.logits(node, row);
        return sampler.sample(row, random.nextDouble());
    }
}
