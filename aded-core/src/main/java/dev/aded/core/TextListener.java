package dev.aded.core;

/**
 * Receives a generation as it happens. Pieces of text are whole characters (byte-level pieces are held until they
 * decode), never include part of a stop string, and concatenate to {@link GenerationResult#text()}. Then exactly
 * one of {@link #onComplete} (also after a cancellation, with {@link FinishReason#CANCELLED}) or {@link #onError}
 * is called. Called on the generating thread; keep it quick.
 */
@FunctionalInterface
public interface TextListener {
    void onText(String piece);

    /** The generation ended; {@code result} is what the generate call returns. */
    default void onComplete(GenerationResult result) {}

    /** The generation failed with {@code error}, which the generate call then throws. */
    default void onError(Throwable error) {}

    /**
     * Called after each forward pass with the number of tokens it added to the output (the value
     * {@link GenerationStats#acceptedPerStep()} records), so a live display can show the speed-up as it happens.
     */
    default void onStep(int tokens) {}
}
