package dev.aded.datastore;

import it.unimi.dsi.fastutil.ints.IntArrays;
import java.io.IOException;

/**
 * Collects the continuations of one context at a time and keeps its k most frequent (ties to the lower token id,
 * counts below the minimum dropped): the pruning that makes the tri-gram matrix small.
 */
final class ContextPruner {
    /** Receives one pruned context. */
    interface Sink {
        void accept(long context, int[] tokens, int[] counts, int n) throws IOException;
    }

    private final int k;
    private final int minCount;
    private final Sink sink;
    private int[] tokens = new int[64];
    private long[] counts = new long[64];
    private int[] order = new int[64];
    private final int[] outTokens;
    private final int[] outCounts;
    private long context = -1;
    private int size;

    ContextPruner(int k, int minCount, Sink sink) {
        this.k = k;
        this.minCount = minCount;
        this.sink = sink;
        this.outTokens = new int[k];
        this.outCounts = new int[k];
    }

    /** Adds a continuation; contexts must arrive grouped (all of one context, then the next). */
    void add(long ctx, int token, long count) throws IOException {
        if (ctx != context) {
            flush();
            context = ctx;
        }
        if (size == tokens.length) {
            tokens = java.util.Arrays.copyOf(tokens, size * 2);
            counts = java.util.Arrays.copyOf(counts, size * 2);
            order = new int[size * 2];
        }
        tokens[size] = token;
        counts[size] = count;
        size++;
    }

    void flush() throws IOException {
        if (size == 0) {
            return;
        }
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        IntArrays.quickSort(order, 0, size, (x, y) -> counts[x] != counts[y] ? Long.compare(counts[y], counts[x])
                : Integer.compare(tokens[x], tokens[y]));
        int n = 0;
        for (int i = 0; i < size && n < k; i++) {
            long c = counts[order[i]];
            if (c < minCount) {
                break;
            }
            outTokens[n] = tokens[order[i]];
            outCounts[n] = (int) Math.min(Integer.MAX_VALUE, c);
            n++;
        }
        if (n > 0) {
            sink.accept(context, outTokens, outCounts, n);
        }
        size = 0;
    }
}
