package dev.aded.core.text;

import java.util.List;

/**
 * Holds back streamed text that could be the start of a stop string, so a caller never sees part of one, and
 * reports when a stop string is complete.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final int holdBack;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopMatcher(List<String> stops) {
        this.stops = stops;
        this.holdBack = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /**
     * Adds text and returns what is safe to emit. After a stop string completes, returns the text before it and
     * {@link #stopped()} turns true; later calls return nothing.
     */
    public String push(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int cut = firstStop();
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int safe = Math.max(0, pending.length() - holdBack);
        // Keep a surrogate pair together.
        if (safe > 0 && safe < pending.length() && Character.isHighSurrogate(pending.charAt(safe - 1))) {
            safe--;
        }
        String out = pending.substring(0, safe);
        pending.delete(0, safe);
        return out;
    }

    /** Returns the held-back text at the end of a generation that did not stop on a stop string. */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    public boolean stopped() {
        return stopped;
    }

    private int firstStop() {
        int best = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }
}
