package dev.aded.datastore;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar for datastore builds: files, tokens, tokens per second and the time left, redrawn in place on a
 * terminal, or printed as a plain line every few seconds when the output is a file or a pipe.
 */
public final class ConsoleProgress implements BuildProgress {
    private static final int WIDTH = 30;
    private static final long PLAIN_EVERY_NANOS = 5_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private long lastPlain = -PLAIN_EVERY_NANOS;

    public ConsoleProgress(PrintStream out) {
        this(out, System.console() != null);
    }

    ConsoleProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void update(long filesDone, long filesTotal, long bytesDone, long bytesTotal, long tokens,
            long elapsedNanos) {
        if (!terminal && elapsedNanos - lastPlain < PLAIN_EVERY_NANOS) {
            return;
        }
        lastPlain = elapsedNanos;
        String line = line(filesDone, filesTotal, bytesDone, bytesTotal, tokens, elapsedNanos);
        if (terminal) {
            out.print("\r" + line);
        } else {
            out.println(line);
        }
        out.flush();
    }

    static String line(long filesDone, long filesTotal, long bytesDone, long bytesTotal, long tokens,
            long elapsedNanos) {
        double fraction = bytesTotal == 0 ? 1 : Math.min(1, (double) bytesDone / bytesTotal);
        int filled = (int) Math.round(fraction * WIDTH);
        double seconds = elapsedNanos / 1e9;
        double rate = seconds > 0 ? tokens / seconds : 0;
        String eta = fraction > 0 && fraction < 1 ? duration(seconds / fraction - seconds) : "--:--";
        return String.format(Locale.ROOT, "[%s%s] %3.0f%% %d/%d files, %,d tokens, %,.0f tokens/s, ETA %s",
                "#".repeat(filled), " ".repeat(WIDTH - filled), fraction * 100, filesDone, filesTotal, tokens, rate,
                eta);
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    @Override
    public void finished(DatastoreInfo info, long elapsedNanos) {
        if (terminal) {
            out.println();
        }
        out.printf(Locale.ROOT, "built in %.1f s: %,d tokens (%,.0f tokens/s), %,d contexts, %,d entries, %,d bytes%n",
                elapsedNanos / 1e9, info.tokensCounted(), info.tokensCounted() / (elapsedNanos / 1e9),
                info.trigramContexts(), info.trigramEntries(), info.fileBytes());
    }
}
