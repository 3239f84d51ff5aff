package dev.aded.core;

import java.util.Arrays;

/**
 * Learns how far verification agrees with draft probabilities, per probability band, and corrects them.
 *
 * <p>Each observation is one drafted token of draft probability q whose parent verification reached, and whether
 * the model took it. Per band of q the calibration keeps the number of hits and the sum of the q it predicted; the
 * corrected acceptance estimate is {@code q * ratio}, {@code ratio = (hits + m·r0) / (predicted + m)}, so with no
 * evidence it is q times the prior ratio r0 (1 unless told) and a band the model keeps rejecting is trusted less. Bands rather than one global factor,
 * because a global factor would scale every path alike: drafters would pick the same nodes, and the loop could not
 * tell that confident corpus tokens hold while uncertain ones fail. Estimates are capped at 1 because they stand
 * for probabilities. Not thread-safe: one per generation.
 */
public final class AcceptanceCalibration {
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
    /** What {@link #observe} added, apart from what {@link #seed} brought in: the part to pass on. */
    private final double[] ownHits = new double[BAND_EDGES.length];
    private final double[] ownPredicted = new double[BAND_EDGES.length];

    private final double prior;

    public AcceptanceCalibration() {
        this(1.0);
    }

    /** A calibration that, before any evidence, takes a token of probability q with probability {@code prior·q}. */
    public AcceptanceCalibration(double prior) {
        if (!(prior > 0)) {
            throw new IllegalArgumentException("prior ratio " + prior);
        }
        this.prior = prior;
        Arrays.fill(ratio, prior);
    }

    /** The corrected estimate that a token of draft probability {@code q} is accepted once its parent is. */
    public double accept(double q) {
        return Math.min(1.0, q * ratio[band(q)]);
    }

    /** Records that a drafted token of draft probability {@code q} was ({@code hit}) or was not taken. */
    public void observe(double q, boolean hit) {
        int b = band(q);
        predicted[b] += q;
        ownPredicted[b] += q;
        if (hit) {
            hits[b] += 1.0;
            ownHits[b] += 1.0;
        }
        update(b);
    }

    /**
     * Starts from {@code earlier}'s evidence, scaled down per band to at most {@code mass} predicted acceptances, so
     * that what this calibration observes itself soon weighs as much.
     */
    void seed(AcceptanceCalibration earlier, double mass) {
        for (int b = 0; b < ratio.length; b++) {
            double scale = earlier.predicted[b] > mass ? mass / earlier.predicted[b] : 1.0;
            hits[b] = earlier.hits[b] * scale;
            predicted[b] = earlier.predicted[b] * scale;
            update(b);
        }
    }

    /** Adds what this calibration observed itself (not what it was seeded with) to {@code record}. */
    void addObservationsTo(AcceptanceCalibration record) {
        for (int b = 0; b < ratio.length; b++) {
            record.hits[b] += ownHits[b];
            record.predicted[b] += ownPredicted[b];
            record.update(b);
        }
    }

    private void update(int b) {
        ratio[b] = (hits[b] + PRIOR_MASS * prior) / (predicted[b] + PRIOR_MASS);
    }

    /** The current correction factor of the band holding {@code q}, for tests and reports. */
    public double ratio(double q) {
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
