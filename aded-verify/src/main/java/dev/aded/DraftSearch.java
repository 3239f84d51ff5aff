package dev.aded;

/** How the {@code aded} mode grows its draft tree from the datastore's counts. */
public enum DraftSearch {
    /** ADED's Monte Carlo tree search: the most accepted tokens per pass where a pass is cheap (a GPU). */
    MCTS,
    /** The most probable nodes first: less drafting time per pass, which is what a CPU is short of. */
    BEST_FIRST,
    /** MCTS on a GPU, best-first on the CPU, where each measured ahead (docs/benchmarks.md). */
    AUTO;

    /** The search {@code AUTO} stands for on {@code device}; any other value is itself. */
    public DraftSearch on(Device device) {
        return this != AUTO ? this : device == Device.GPU ? MCTS : BEST_FIRST;
    }
}
