package dev.aded.datastore;

import it.unimi.dsi.fastutil.longs.Long2ObjectMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.LongAdder;

/**
 * ADED's adaptive tri-gram matrix: the corpus counts of a {@link Datastore} plus what the model was seen to say.
 * Each accepted token adds {@code weight} to its tri-gram and bigram; lookups return the merged counts, so drafts
 * follow the model's own habits (the names in the user's code, its favourite idioms) after a few repetitions.
 *
 * <p>Concurrency: the learned counts are split into stripes by context, each guarded by its own lock, so readers
 * and writers of different contexts never wait for each other and no increment is ever lost.
 *
 * <p>Memory: at most {@code maxContexts} learned contexts (tri-gram and bigram together), each holding at most
 * {@value #MAX_PER_CONTEXT} continuations. When a stripe is full, all its counts are halved and those reaching zero
 * are dropped: old habits decay, recent ones stay. A context that already holds {@value #MAX_PER_CONTEXT}
 * continuations drops a new one (a long tail that drafting never reaches).
 */
public final class AdaptiveCounts implements AdaptiveNgramCounts {
    static final int MAX_PER_CONTEXT = 32;
    private static final int STRIPES = 64;

    private final Datastore base;
    private final int vocab;
    private final int weight;
    private final int maxEntries;
    private final int maxPerStripe;
    private final Stripe[] stripes = new Stripe[STRIPES];
    private final LongAdder observed = new LongAdder();

    /** Learned continuations of the contexts of one stripe; tri-gram keys ≥ 0, bigram keys are -(b + 1). */
    private static final class Stripe {
        final Long2ObjectOpenHashMap<int[]> contexts = new Long2ObjectOpenHashMap<>();
    }

    /** Default: weight 4 per accepted token, up to 1M learned contexts. */
    public AdaptiveCounts(Datastore base) {
        this(base, 4, 1 << 20);
    }

    /**
     * @param weight how many corpus occurrences one accepted token is worth
     * @param maxContexts learned contexts kept before counts decay
     */
    public AdaptiveCounts(Datastore base, int weight, int maxContexts) {
        if (weight < 1 || maxContexts < STRIPES) {
            throw new IllegalArgumentException("weight must be >= 1 and maxContexts >= " + STRIPES);
        }
        this.base = base;
        this.vocab = base.vocabSize();
        this.weight = weight;
        this.maxEntries = 2 * base.maxEntries();
        this.maxPerStripe = maxContexts / STRIPES;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    /** The corpus' k plus as many learned continuations. */
    @Override
    public int maxEntries() {
        return maxEntries;
    }

    @Override
    public int trigram(int a, int b, int[] tokens, int[] counts) {
        if (a < 0 || b < 0 || a >= vocab || b >= vocab) {
            return 0;
        }
        int n = base.trigram(a, b, tokens, counts);
        return mergeLearned((long) a * vocab + b, tokens, counts, n);
    }

    @Override
    public int bigram(int b, int[] tokens, int[] counts) {
        if (b < 0 || b >= vocab) {
            return 0;
        }
        int n = base.bigram(b, tokens, counts);
        return mergeLearned(-(b + 1L), tokens, counts, n);
    }

    /** Adds the learned counts of a context to the corpus entries in place and re-sorts them. */
    private int mergeLearned(long key, int[] tokens, int[] counts, int n) {
        Stripe s = stripe(key);
        synchronized (s) {
            int[] learned = s.contexts.get(key);
            if (learned != null) {
                for (int i = 0; i < learned[0]; i++) {
                    int t = learned[1 + 2 * i];
                    int c = learned[2 + 2 * i];
                    int j = indexOf(tokens, n, t);
                    if (j >= 0) {
                        counts[j] += c;
                    } else if (n < maxEntries) {
                        tokens[n] = t;
                        counts[n++] = c;
                    }
                }
            }
        }
        sortByCount(tokens, counts, n);
        return n;
    }

    private static int indexOf(int[] tokens, int n, int t) {
        for (int i = 0; i < n; i++) {
            if (tokens[i] == t) {
                return i;
            }
        }
        return -1;
    }

    /** Insertion sort: at most 2k entries, nearly sorted already. */
    private static void sortByCount(int[] tokens, int[] counts, int n) {
        for (int i = 1; i < n; i++) {
            int t = tokens[i];
            int c = counts[i];
            int j = i - 1;
            while (j >= 0 && (counts[j] < c || (counts[j] == c && tokens[j] > t))) {
                tokens[j + 1] = tokens[j];
                counts[j + 1] = counts[j];
                j--;
            }
            tokens[j + 1] = t;
            counts[j + 1] = c;
        }
    }

    @Override
    public void observe(int[] tokens, int from, int to) {
        for (int i = Math.max(1, from); i < to; i++) {
            int c = tokens[i];
            int b = tokens[i - 1];
            if (c < 0 || c >= vocab || b < 0 || b >= vocab) {
                continue;
            }
            learn(-(b + 1L), c);
            if (i >= 2 && tokens[i - 2] >= 0 && tokens[i - 2] < vocab) {
                learn((long) tokens[i - 2] * vocab + b, c);
            }
            observed.increment();
        }
    }

    private void learn(long key, int token) {
        Stripe s = stripe(key);
        synchronized (s) {
            int[] learned = s.contexts.get(key);
            if (learned == null) {
                if (s.contexts.size() >= maxPerStripe) {
                    decay(s);
                }
                learned = new int[1 + 2 * 4];
                s.contexts.put(key, learned);
            }
            for (int i = 0; i < learned[0]; i++) {
                if (learned[1 + 2 * i] == token) {
                    learned[2 + 2 * i] += weight;
                    return;
                }
            }
            if (learned[0] == MAX_PER_CONTEXT) {
                return;
            }
            if (1 + 2 * (learned[0] + 1) > learned.length) {
                learned = java.util.Arrays.copyOf(learned, Math.min(1 + 2 * MAX_PER_CONTEXT, 2 * learned.length));
                s.contexts.put(key, learned);
            }
            learned[1 + 2 * learned[0]] = token;
            learned[2 + 2 * learned[0]] = weight;
            learned[0]++;
        }
    }

    /** Halves every count of the stripe and forgets what reaches zero. */
    private static void decay(Stripe s) {
        var it = s.contexts.long2ObjectEntrySet().fastIterator();
        while (it.hasNext()) {
            int[] learned = it.next().getValue();
            int kept = 0;
            for (int i = 0; i < learned[0]; i++) {
                int c = learned[2 + 2 * i] / 2;
                if (c > 0) {
                    learned[1 + 2 * kept] = learned[1 + 2 * i];
                    learned[2 + 2 * kept] = c;
                    kept++;
                }
            }
            learned[0] = kept;
            if (kept == 0) {
                it.remove();
            }
        }
    }

    private Stripe stripe(long key) {
        return stripes[(int) ((key * 0x9E3779B97F4A7C15L) >>> 58)];
    }

    /** How many corpus occurrences one observed token adds to its tri-gram and bigram. */
    public int weight() {
        return weight;
    }

    /** Tokens observed since this overlay was made. */
    public long observedTokens() {
        return observed.sum();
    }

    /** The learned count of {@code token} after (a, b), for tests and diagnostics. */
    public int learnedCount(int a, int b, int token) {
        long key = (long) a * vocab + b;
        Stripe s = stripe(key);
        synchronized (s) {
            int[] learned = s.contexts.get(key);
            if (learned != null) {
                for (int i = 0; i < learned[0]; i++) {
                    if (learned[1 + 2 * i] == token) {
                        return learned[2 + 2 * i];
                    }
                }
            }
            return 0;
        }
    }

    @Override
    public void requireTokenizer(Path tokenizerJson, int vocabSize) {
        base.requireTokenizer(tokenizerJson, vocabSize);
    }

    /**
     * Writes the corpus counts merged with the learned ones into a new datastore file, atomically: the target is
     * replaced only once the new file is complete on disk, so a crash leaves the previous file intact.
     */
    public DatastoreInfo persist(Path target) throws IOException {
        base.requireWhole();
        int k = base.topK();
        int[] tokens = new int[maxEntries + MAX_PER_CONTEXT];
        int[] counts = new int[maxEntries + MAX_PER_CONTEXT];
        try (DatastoreWriter writer = new DatastoreWriter(target, vocab, k, base.fingerprint())) {
            writer.tokensCounted(base.tokensCounted() + observedTokens());
            for (int b = 0; b < vocab; b++) {
                int n = bigram(b, tokens, counts);
                writer.bigram(b, tokens, counts, Math.min(n, k));
            }
            LongArrayList learnedKeys = new LongArrayList();
            for (Stripe s : stripes) {
                synchronized (s) {
                    for (Long2ObjectMap.Entry<int[]> e : s.contexts.long2ObjectEntrySet()) {
                        if (e.getLongKey() >= 0) {
                            learnedKeys.add(e.getLongKey());
                        }
                    }
                }
            }
            learnedKeys.sort(null);
            int li = 0;
            for (int i = 0; i <= base.contexts(); i++) {
                long baseKey = i < base.contexts() ? base.contextKey(i) : Long.MAX_VALUE;
                while (li < learnedKeys.size() && learnedKeys.getLong(li) < baseKey) {
                    writeMerged(writer, learnedKeys.getLong(li++), tokens, counts, k);
                }
                if (li < learnedKeys.size() && learnedKeys.getLong(li) == baseKey) {
                    li++;
                }
                if (i < base.contexts()) {
                    writeMerged(writer, baseKey, tokens, counts, k);
                }
            }
            return writer.commit();
        }
    }

    private void writeMerged(DatastoreWriter writer, long key, int[] tokens, int[] counts, int k) throws IOException {
        int n = trigram((int) (key / vocab), (int) (key % vocab), tokens, counts);
        writer.trigram(key, tokens, counts, Math.min(n, k));
    }
}
