package dev.aded.core;

/** A generation run on another thread failed; the cause is what it failed with. */
public final class GenerationFailedException extends RuntimeException {
    GenerationFailedException(Throwable cause) {
        super(cause.getMessage(), cause);
    }
}
