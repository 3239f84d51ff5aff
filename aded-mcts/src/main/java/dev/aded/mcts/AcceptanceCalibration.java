package dev.aded.mcts;

import java.util.Arrays;

/**
 * Learns how far verification agrees with the draft probabilities, per probability band, and corrects them.
 *
 * <p>Every step reports, for each drafted child of a node that verification reached, whether the model took it.
 * Per band of draft probability q the calibration keeps the number of hits and the sum of the q it predicted; the
 * corrected acceptance estimate is {@code q * ratio}, {@code ratio = (hits + m) / (predicted + m)}, so with no
 * evidence it is q itself and a band the model keeps rejecting is trusted less. The bands are what make it change
 * the tree's shape: a global factor would scale every path alike and pick the same nodes, while a band-wise one moves
 * budget between deep chains of confident tokens and wider siblings near the root. Estimates are capped at 1
 * because they stand for probabilities.
 */
final class AcceptanceCalibration {
    /** Upper edges of the probability bands; sparse contexts put many tokens near 1/2, 1/3... hence the fine middle. */
    private static final double[] BAND_EDGES = {0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, Double.POSITIVE_INFINITY};

    /**
     * Pseudo-count of predicted acceptances behind the prior "q is right": a few steps of evidence, so a handful
     * of steps in a new generation already moves the estimate, while one lucky step does not.
     */
    private static final double PRIOR_MASS = 2.0;

    private final double[] hits = new double[BAND_EDGES.length];
    private final double[] predicted = new double[BAND_EDGES.length];
    private final double[] ratio = new double[BAND_EDGES.length];

    AcceptanceCalibration() {
        Arrays.fill(ratio, 1.0);
    }

    /** The corrected estimate that a token of draft probability {@code q} is accepted once its parent is. */
    double accept(double q) {
        return Math.min(1.0, q * ratio[band(q)]);
    }

    /**
     * Learns from one verification: walks the last draft (the selected nodes of {@code search}) along the accepted
     * tokens starting at {@code context[from]}; at every node verification reached, each drafted child is a hit when
     * it is the accepted one and a miss otherwise. Below the last accepted node every drafted child was rejected.
     * Clears the selection, so that the same draft is never learnt from twice.
     */
    void learn(SearchTree search, int[] context, int from, int acceptedDraftTokens) {
        int node = 0;
        for (int step = 0; step <= acceptedDraftTokens && node >= 0; step++) {
            int taken = step < acceptedDraftTokens ? context[from + step] : -1;
            int next = -1;
            int end = search.firstChild(node) + search.childCount(node);
            for (int c = search.firstChild(node); c < end; c++) {
                if (search.isSelected(c)) {
                    boolean hit = search.token(c) == taken;
                    observe(search.prob(c), hit);
                    if (hit) {
                        next = c;
                    }
                }
            }
            node = next;
        }
        search.clearSelection();
    }

    /** Records that a drafted token of draft probability {@code q} was ({@code hit}) or was not taken. */
    void observe(double q, boolean hit) {
        int b = band(q);
        predicted[b] += q;
        if (hit) {
            hits[b] += 1.0;
        }
        ratio[b] = (hits[b] + PRIOR_MASS) / (predicted[b] + PRIOR_MASS);
    }

    /** The current correction factor of the band holding {@code q}, for tests and reports. */
    double ratio(double q) {
        return ratio[band(q)];
    }

    private static int band(double q) {
        int b = 0;
        while (q > BAND_EDGES[b]) {
            b++;
        }
        return b;
    }
}
