package dev.aded.mcts;

import dev.aded.datastore.AdaptiveNgramCounts;
import it.unimi.dsi.fastutil.ints.Int2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import java.nio.file.Path;
import java.util.Random;

/**
 * A small in-memory {@link AdaptiveNgramCounts} backed by hash maps, for tests with distributions whose answers are
 * known. Lookups copy into the caller's arrays and do not allocate; entries stay sorted by count, then token.
 */
final class MapCounts implements AdaptiveNgramCounts {
    private final int vocabSize;
    private final Long2ObjectOpenHashMap<Table> trigrams = new Long2ObjectOpenHashMap<>();
    private final Int2ObjectOpenHashMap<Table> bigrams = new Int2ObjectOpenHashMap<>();
    Path requiredTokenizer;

    MapCounts(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    /** Random counts over a small vocabulary: most contexts have a few continuations with skewed counts. */
    static MapCounts random(long seed, int vocab, int maxFanout) {
        Random r = new Random(seed);
        MapCounts m = new MapCounts(vocab);
        for (int b = 0; b < vocab; b++) {
            fill(r, vocab, maxFanout, m.bigrams.computeIfAbsent(b, k -> new Table()));
            for (int a = 0; a < vocab; a++) {
                if (r.nextDouble() < 0.8) {
                    fill(r, vocab, maxFanout, m.trigrams.computeIfAbsent(key(a, b), k -> new Table()));
                }
            }
        }
        return m;
    }

    private static void fill(Random r, int vocab, int maxFanout, Table t) {
        int fanout = 1 + r.nextInt(maxFanout);
        for (int i = 0; i < fanout; i++) {
            // Cubing a uniform skews counts the way corpus counts are skewed: few frequent, many rare.
            double u = r.nextDouble();
            t.add(r.nextInt(vocab), 1 + (int) (200 * u * u * u));
        }
    }

    /** A deep copy, so that runs which learn into their counts can start from the same state. */
    synchronized MapCounts copy() {
        MapCounts m = new MapCounts(vocabSize);
        trigrams.long2ObjectEntrySet().forEach(e -> m.trigrams.put(e.getLongKey(), e.getValue().copy()));
        bigrams.int2ObjectEntrySet().forEach(e -> m.bigrams.put(e.getIntKey(), e.getValue().copy()));
        return m;
    }

    /** Keeps the {@code k} most frequent continuations of every context, as a pruned datastore does. */
    synchronized MapCounts pruneTo(int k) {
        trigrams.values().forEach(t -> t.pruneTo(k));
        bigrams.values().forEach(t -> t.pruneTo(k));
        return this;
    }

    MapCounts trigram(int a, int b, int c, int count) {
        trigrams.computeIfAbsent(key(a, b), k -> new Table()).add(c, count);
        return this;
    }

    MapCounts bigram(int b, int c, int count) {
        bigrams.computeIfAbsent(b, k -> new Table()).add(c, count);
        return this;
    }

    /** The exact probability of c after (a, b), with the same back-off the drafters use; a < 0: bigram only. */
    synchronized double prob(int a, int b, int c) {
        Table t = a >= 0 ? trigrams.get(key(a, b)) : null;
        if (t == null) {
            t = bigrams.get(b);
        }
        return t == null ? 0 : t.prob(c);
    }

    /** Continuations of (a, b) with back-off, most frequent first, as {token, count} pairs. */
    synchronized int[][] continuations(int a, int b) {
        int[] tokens = new int[vocabSize];
        int[] counts = new int[vocabSize];
        int n = a >= 0 ? trigram(a, b, tokens, counts) : 0;
        if (n == 0) {
            n = bigram(b, tokens, counts);
        }
        return new int[][] {java.util.Arrays.copyOf(tokens, n), java.util.Arrays.copyOf(counts, n)};
    }

    synchronized int trigramCount(int a, int b, int c) {
        Table t = trigrams.get(key(a, b));
        return t == null ? 0 : t.count(c);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int maxEntries() {
        return vocabSize;
    }

    @Override
    public synchronized int trigram(int a, int b, int[] tokens, int[] counts) {
        Table t = trigrams.get(key(a, b));
        return t == null ? 0 : t.copy(tokens, counts);
    }

    @Override
    public synchronized int bigram(int b, int[] tokens, int[] counts) {
        Table t = bigrams.get(b);
        return t == null ? 0 : t.copy(tokens, counts);
    }

    @Override
    public void requireTokenizer(Path tokenizerJson, int vocabSize) {
        if (vocabSize != this.vocabSize) {
            throw new IllegalArgumentException("map counts: vocabulary " + this.vocabSize + ", tokenizer " + vocabSize);
        }
        requiredTokenizer = tokenizerJson;
    }

    @Override
    public synchronized void observe(int[] tokens, int from, int to) {
        for (int i = from; i < to; i++) {
            if (i >= 1) {
                bigram(tokens[i - 1], tokens[i], 1);
            }
            if (i >= 2) {
                trigram(tokens[i - 2], tokens[i - 1], tokens[i], 1);
            }
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    /** One context's continuations, sorted by count descending, then token ascending. */
    private static final class Table {
        int[] tokens = new int[4];
        int[] counts = new int[4];
        int n;
        long total;

        void add(int token, int count) {
            int i = 0;
            while (i < n && tokens[i] != token) {
                i++;
            }
            if (i == n) {
                if (n == tokens.length) {
                    tokens = java.util.Arrays.copyOf(tokens, 2 * n);
                    counts = java.util.Arrays.copyOf(counts, 2 * n);
                }
                tokens[n] = token;
                counts[n++] = 0;
            }
            counts[i] += count;
            total += count;
            while (i > 0 && (counts[i - 1] < counts[i] || counts[i - 1] == counts[i] && tokens[i - 1] > tokens[i])) {
                swap(i - 1, i);
                i--;
            }
        }

        Table copy() {
            Table t = new Table();
            t.tokens = tokens.clone();
            t.counts = counts.clone();
            t.n = n;
            t.total = total;
            return t;
        }

        void pruneTo(int k) {
            for (int i = k; i < n; i++) {
                total -= counts[i];
            }
            n = Math.min(n, k);
        }

        private void swap(int i, int j) {
            int t = tokens[i];
            tokens[i] = tokens[j];
            tokens[j] = t;
            int c = counts[i];
            counts[i] = counts[j];
            counts[j] = c;
        }

        int copy(int[] outTokens, int[] outCounts) {
            System.arraycopy(tokens, 0, outTokens, 0, n);
            System.arraycopy(counts, 0, outCounts, 0, n);
            return n;
        }

        int count(int token) {
            for (int i = 0; i < n; i++) {
                if (tokens[i] == token) {
                    return counts[i];
                }
            }
            return 0;
        }

        double prob(int token) {
            return (double) count(token) / total;
        }
    }
}
