package dev.aded.core;

/**
 * The device (GPU memory, or the host's for the CPU) could not hold an allocation: a model's weights, a session's
 * KV cache or a forward pass's activations. Nothing is left half-made: the model and the generator stay usable,
 * and a smaller request (a shorter context, fewer new tokens, a smaller tree, fewer concurrent generations) may
 * succeed where this one failed.
 */
public class DeviceMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DeviceMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
