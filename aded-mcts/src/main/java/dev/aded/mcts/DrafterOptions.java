package dev.aded.mcts;

/**
 * Settings shared by {@link MctsDrafter} and {@link BestFirstDrafter}. Build from {@link #defaults()} and the
 * {@code with...} methods; every value is checked once here so the hot paths need not. The tree's size and depth
 * are not drafter settings: the decoding loop passes them each step, from
 * {@link dev.aded.core.GenerationConfig#treeBudget()} and {@link dev.aded.core.GenerationConfig#maxDraftDepth()}.
 *
 * @param maxChildren how many continuations of one context a node may get (the most frequent ones; never more
 *     than the step's budget)
 * @param exploration the PUCT constant of MCTS selection (best-first ignores it)
 * @param unseenMass pseudo-count of unseen continuations: a context's probabilities are
 *     {@code count / (total + unseenMass)}, so a context seen once is not trusted as certain
 * @param adaptCounts feed accepted tokens to the counts when they are {@link dev.aded.datastore.AdaptiveNgramCounts}
 * @param adaptPolicy let the drafter recalibrate its acceptance estimates from verification outcomes (see
 *     {@link dev.aded.core.AcceptanceCalibration}), which moves budget between depth and width
 * @param seed seeds the MCTS tie-breaking jitter, the only randomness
 */
public record DrafterOptions(
        int maxChildren,
        double exploration,
        double unseenMass,
        boolean adaptCounts,
        boolean adaptPolicy,
        long seed) {

    public DrafterOptions {
        if (maxChildren < 1) {
            throw new IllegalArgumentException("maxChildren must be at least 1, got " + maxChildren);
        }
        if (!(exploration >= 0) || Double.isInfinite(exploration)) {
            throw new IllegalArgumentException("exploration must be a finite number >= 0, got " + exploration);
        }
        if (!(unseenMass >= 0) || Double.isInfinite(unseenMass)) {
            throw new IllegalArgumentException("unseenMass must be a finite number >= 0, got " + unseenMass);
        }
    }

    /** 32 children per node, exploration 1.0, unseen mass 1.0, both adaptations on, seed 0. */
    public static DrafterOptions defaults() {
        return new DrafterOptions(32, 1.0, 1.0, true, true, 0L);
    }

    public DrafterOptions withMaxChildren(int v) {
        return new DrafterOptions(v, exploration, unseenMass, adaptCounts, adaptPolicy, seed);
    }

    public DrafterOptions withExploration(double v) {
        return new DrafterOptions(maxChildren, v, unseenMass, adaptCounts, adaptPolicy, seed);
    }

    public DrafterOptions withUnseenMass(double v) {
        return new DrafterOptions(maxChildren, exploration, v, adaptCounts, adaptPolicy, seed);
    }

    public DrafterOptions withAdaptCounts(boolean v) {
        return new DrafterOptions(maxChildren, exploration, unseenMass, v, adaptPolicy, seed);
    }

    public DrafterOptions withAdaptPolicy(boolean v) {
        return new DrafterOptions(maxChildren, exploration, unseenMass, adaptCounts, v, seed);
    }

    public DrafterOptions withSeed(long v) {
        return new DrafterOptions(maxChildren, exploration, unseenMass, adaptCounts, adaptPolicy, v);
    }
}
