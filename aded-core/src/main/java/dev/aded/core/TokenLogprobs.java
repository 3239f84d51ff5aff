package dev.aded.core;

import java.util.List;

/**
 * One generated token with its log-probability (natural log) under the distribution it was chosen from, and the
 * likeliest tokens of that distribution. That distribution is the model's after the config's processing: the
 * repetition penalty, then for sampling the temperature, top-k, top-p and min-p (tokens cut away have no entry);
 * for greedy decoding, the softmax of the penalised logits. Every mode reports the same figures, since they all
 * choose each token from the model's own logits at that position.
 *
 * @param top the {@link GenerationConfig#topLogprobs()} likeliest tokens, most likely first (ties: lower id first);
 *     fewer when fewer tokens remain after the cuts
 */
public record TokenLogprobs(int token, double logprob, List<Alternative> top) {

    public TokenLogprobs {
        top = List.copyOf(top);
    }

    /** A token and its log-probability at the same position. */
    public record Alternative(int token, double logprob) {}
}
