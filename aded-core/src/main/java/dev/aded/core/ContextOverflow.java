package dev.aded.core;

/** What to do when the prompt plus the requested new tokens do not fit into the model's context. */
public enum ContextOverflow {
    /** Refuse with an {@link IllegalArgumentException} that gives the numbers (the default). */
    ERROR,
    /** Drop the oldest prompt tokens (keeping the first one, usually BOS) until the request fits. */
    TRUNCATE_PROMPT_START
}
