package dev.aded.mcts;

import dev.aded.datastore.NgramCounts;

/**
 * The draft distribution of one two-token context: the tri-gram continuations of (a, b), or the bigram ones of b
 * when (a, b) was never seen, cut to the most frequent few and normalised as
 * {@code count / (total + unseenMass)}. Owns its scratch arrays, so one instance serves one thread.
 */
final class DraftDistribution {
    private final NgramCounts counts;
    private final int maxChildren;
    private final double unseenMass;
    private final int[] entryTokens;
    private final int[] entryCounts;
    private double normaliser;

    DraftDistribution(NgramCounts counts, DrafterOptions options) {
        this.counts = counts;
        this.maxChildren = options.maxChildren();
        this.unseenMass = options.unseenMass();
        int entries = Math.max(counts.maxEntries(), 1);
        this.entryTokens = new int[entries];
        this.entryCounts = new int[entries];
    }

    /**
     * The most continuations a lookup returns in a step of {@code budget} nodes: {@code maxChildren}, or fewer when
     * the budget could not hold more siblings anyway.
     */
    int childLimit(int budget) {
        return Math.min(maxChildren, budget);
    }

    /**
     * Looks up the continuations of (a, b), {@code a < 0} meaning "no token before b", and returns how many there
     * are, at most {@code limit}; read them with {@link #token(int)} and {@link #prob(int)}, most probable first,
     * until the next lookup.
     */
    int lookup(int a, int b, int limit) {
        int n = a >= 0 ? counts.trigram(a, b, entryTokens, entryCounts) : 0;
        if (n == 0) {
            n = counts.bigram(b, entryTokens, entryCounts);
        }
        // The total covers every entry, not only the kept ones, so that the kept probabilities stay honest.
        long total = 0;
        for (int i = 0; i < n; i++) {
            total += entryCounts[i];
        }
        normaliser = 1.0 / (total + unseenMass);
        return Math.min(n, limit);
    }

    int token(int i) {
        return entryTokens[i];
    }

    double prob(int i) {
        return entryCounts[i] * normaliser;
    }
}
