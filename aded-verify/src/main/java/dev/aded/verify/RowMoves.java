package dev.aded.verify;

/**
 * The cache rows a session's commits still have to move: an accepted path's nodes from where the tree put them to
 * their places after the sequence. They are not copied at the commit, which is bookkeeping only and may run while
 * another generation's pass holds the device, but by the next pass, first thing, as part of its graph (one gather
 * and one scatter for all rows and layers) where an eager copy per row cost host time on every step. Eager passes,
 * captures and moves past what a graph takes are made eagerly before the pass, so that a pass that fails or runs
 * twice never moves a row twice.
 *
 * <p>Moving in one gather then one scatter is safe in any order: every source is read before any row is written.
 */
final class RowMoves {
    /** Moves a graph's input has room for. */
    static final int MAX = 32;

    private int[] from = new int[MAX];
    private int[] to = new int[MAX];
    private int count;

    int count() {
        return count;
    }

    /** Whether a graph's input takes these moves; if not, they are made eagerly first. */
    boolean fitGraph() {
        return count <= MAX;
    }

    void add(int src, int dst) {
        if (count == from.length) {
            from = java.util.Arrays.copyOf(from, 2 * count);
            to = java.util.Arrays.copyOf(to, 2 * count);
        }
        from[count] = src;
        to[count++] = dst;
    }

    /**
     * Writes the sources at {@code input[at, at + slots)} and the destinations after them, each row plus
     * {@code base}; the slots past the moves move {@code spare} onto itself.
     */
    void encode(float[] input, int at, int slots, int base, int spare) {
        for (int i = 0; i < slots; i++) {
            input[at + i] = i < count ? base + from[i] : spare;
            input[at + slots + i] = i < count ? base + to[i] : spare;
        }
    }

    void clear() {
        count = 0;
    }
}
