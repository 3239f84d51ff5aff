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
 *
 * <p>The options that reshape the model's distribution (repetition penalty, temperature, top-k, top-p, min-p) are
 * applied here, to the logits of each node the walk reaches, so speculative modes draw from exactly the
 * distribution plain decoding draws from. The penalty depends on the context, which differs from node to node:
 * the walk visits only the nodes of one path, in order, and adds each chosen token to the penalty's context before
 * moving on, so every node is penalised by the tokens that precede it on that path.
 */
final class PathAcceptor {
    private final boolean greedy;
    /** Null when no option needs the full row: greedy decoding then takes the model's own argmax. */
    private final float[] row;
    private final Sampler sampler;
    /** Null when the penalty is off. */
    private final RepetitionPenalty penalty;
    /** -1 when log-probabilities are off, else how many alternatives each token lists. */
    private final int top;

    /** @param prompt the tokens before the first step's tree (the repetition penalty's initial context) */
    PathAcceptor(int vocabSize, GenerationConfig config, int[] prompt) {
        this.greedy = config.greedy();
        this.penalty = config.repetitionPenalty() == 1 ? null
                : new RepetitionPenalty(vocabSize, config.repetitionPenalty(), prompt);
        this.top = config.logprobs() ? config.topLogprobs() : -1;
        boolean needsRow = !greedy || penalty != null || top >= 0;
        this.row = needsRow ? new float[vocabSize] : null;
        this.sampler = needsRow ? new Sampler(vocabSize, config) : null;
    }

    /** Whether accepting reads whole rows of logits: otherwise the model's argmaxes are all it reads. */
    boolean readsLogits() {
        return row != null;
    }

    /**
     * Fills {@code path} with the root and the accepted nodes and {@code tokens} with the step's new tokens (the
     * accepted draft tokens, then the bonus token); returns the number of new tokens, which is also the path's
     * length. With log-probabilities on, {@code logprobs} gets one entry per new token.
     */
    int accept(DraftTree tree, TreeLogits logits, SplittableRandom random, int[] path, int[] tokens,
            TokenLogprobs[] logprobs) {
        int node = 0;
        int n = 0;
        while (true) {
            path[n] = node;
            int next = choose(logits, node, random);
            if (top >= 0) {
                logprobs[n] = sampler.logprobs(next, top);
            }
            tokens[n++] = next;
            if (penalty != null) {
                penalty.add(next);
            }
            int child = tree.child(node, next);
            if (child < 0) {
                return n;
            }
            node = child;
        }
    }

    private int choose(TreeLogits logits, int node, SplittableRandom random) {
        if (row == null) {
            return logits.argmax(node);
        }
        logits.logits(node, row);
        if (penalty != null) {
            penalty.apply(row);
        }
        if (top >= 0 || !greedy) {
            sampler.load(row);
        }
        if (!greedy) {
            return sampler.draw(random.nextDouble());
        }
        return penalty == null ? logits.argmax(node) : Sampler.argmax(row);
    }
}
