package dev.aded.verify;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import dev.aded.core.DeviceMemoryException;
import java.util.Locale;

/** Tells libtorch's allocation failures apart from its other errors, so callers can catch the first kind. */
final class DeviceMemory {
    private DeviceMemory() {}

    /**
     * The exception to throw for {@code e}: a {@link DeviceMemoryException} naming {@code what} was being allocated
     * when libtorch ran out of memory (CPU: "DefaultCPUAllocator: not enough memory", CUDA: "CUDA out of memory"),
     * else {@code e} itself.
     */
    static RuntimeException translate(EngineException e, String what, Device device) {
        String msg = String.valueOf(e.getMessage());
        String lower = msg.toLowerCase(Locale.ROOT);
        if (lower.contains("out of memory") || lower.contains("not enough memory")
                || lower.contains("allocate memory")) {
            // libtorch's message can run to a C++ stack trace: its first line says how much it asked for.
            String first = msg.lines().findFirst().orElse(msg).trim();
            return new DeviceMemoryException(what + " does not fit in the memory of " + device + ": " + first, e);
        }
        return e;
    }

    /** Bytes as a short human figure. */
    static String bytes(double n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int u = 0;
        while (n >= 1024 && u < units.length - 1) {
            n /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
    }
}
