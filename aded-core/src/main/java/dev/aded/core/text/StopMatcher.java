package dev.aded.core.text;

import java.util.List;

/**
 * Holds back streamed text that could be the start of a stop string, so a caller never sees part of one, and
 * reports when a stop string is complete.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopMatcher(List<String> stops) {
        this.stops = stops;
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
        int safe = pending.length() - longestStopPrefixAtEnd();
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

    /** The length of the longest end of the pending text that some stop string starts with. */
    private int longestStopPrefixAtEnd() {
        int n = pending.length();
        int best = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, n); k > best; k--) {
                if (endsWithPrefix(s, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private boolean endsWithPrefix(String stop, int k) {
        int start = pending.length() - k;
        for (int i = 0; i < k; i++) {
            if (pending.charAt(start + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
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
