package dev.aded.core;

import java.util.List;

/**
 * The outcome of one generation: the text (without the prompt, cut before any stop string), the new token ids, why
 * it ended and the statistics.
 *
 * @param logprobs one entry per token of {@code tokens} when {@link GenerationConfig#logprobs()} is set, else empty
 */
public record GenerationResult(String text, int[] tokens, FinishReason finishReason, GenerationStats stats,
        List<TokenLogprobs> logprobs) {

    public GenerationResult {
        logprobs = List.copyOf(logprobs);
    }
}
