package dev.aded.core;

/**
 * Receives generated text as it is produced. Pieces are whole characters (byte-level pieces are held until they
 * decode), never include part of a stop string, and concatenate to {@link GenerationResult#text()}. Called on the
 * generating thread; keep it quick.
 */
@FunctionalInterface
public interface TextListener {
    void onText(String piece);

    /**
     * Called after each forward pass with the number of tokens it added to the output (the value
     * {@link GenerationStats#acceptedPerStep()} records), so a live display can show the speed-up as it happens.
     */
    default void onStep(int tokens) {}
}
