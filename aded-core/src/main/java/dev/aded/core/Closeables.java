package dev.aded.core;

import java.util.List;

/** Closing several resources where one failing must not leave the others open. */
public final class Closeables {
    private Closeables() {}

    /**
     * Closes {@code resources}, the last first (the reverse of opening, as try-with-resources does), and then throws
     * the first failure, with the later ones suppressed in it; checked exceptions come wrapped.
     */
    public static void closeInReverse(List<? extends AutoCloseable> resources) {
        RuntimeException failure = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException r ? r : new IllegalStateException("closing failed", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
