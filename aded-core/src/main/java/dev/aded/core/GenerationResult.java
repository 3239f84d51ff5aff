package dev.aded.core;

/**
 * The outcome of one generation: the text (without the prompt, cut before any stop string), the new token ids
 * and the statistics.
 */
public record GenerationResult(String text, int[] tokens, FinishReason finishReason, GenerationStats stats) {}
