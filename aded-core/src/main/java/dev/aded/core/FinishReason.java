package dev.aded.core;

/** Why a generation ended. */
public enum FinishReason {
    /** The maximum number of new tokens was produced. */
    LENGTH,
    /** The model produced one of its end-of-sequence tokens. */
    EOS,
    /** The model produced one of the config's stop token ids. */
    STOP_TOKEN,
    /** The text reached one of the configured stop strings. */
    STOP_STRING,
    /** The caller cancelled it. */
    CANCELLED
}
