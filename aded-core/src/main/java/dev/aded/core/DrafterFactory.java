package dev.aded.core;

import dev.aded.core.text.Tokenizer;

/** Makes thread-confined {@link Drafter}s over shared statistics (a datastore, or nothing at all). */
public interface DrafterFactory {

    /** A short name for statistics and logs, such as {@code "aded"} or {@code "pld"}. */
    String name();

    /** A fresh drafter for one generation. */
    Drafter newDrafter();

    /**
     * Fails with an {@link IllegalArgumentException} naming the problem when this drafter's statistics were made
     * with another tokenizer than the model's.
     */
    default void checkCompatible(Tokenizer tokenizer) {}
}
