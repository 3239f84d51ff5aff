package dev.aded.core;

import java.util.Arrays;
import java.util.Locale;

/**
 * Where a generation's time went and how much each forward pass bought.
 *
 * <p>"Accepted tokens" of a step are the tokens it added to the output: the draft tokens the model confirmed plus
 * the model's own next token, so plain decoding scores exactly 1 per step. Token rates count new tokens over the
 * whole call, prompt processing included, so they compare honestly with other libraries' end-to-end figures.
 */
public final class GenerationStats {
    private final Mode mode;
    private final int promptTokens;
    private final int newTokens;
    private final int[] acceptedPerStep;
    private final int[] nodesPerStep;
    private final double[] predictedPerStep;
    private final int[] sequencesPerStep;
    private final long prefillNanos;
    private final long draftNanos;
    private final long verifyNanos;
    private final long passShareNanos;
    private final long queueNanos;
    private final int missedPasses;
    private final long totalNanos;

    /**
     * @param nodesPerStep draft nodes verified by each step (the root not counted)
     * @param predictedPerStep the tokens each step was expected to yield when it chose its tree, or empty where the
     *     mode makes no prediction
     * @param sequencesPerStep how many generations' trees each step's forward pass verified, this one's included
     * @param passShareNanos this generation's share of its forward passes' time: each pass's time, from its start
     *     until its results were back, divided among the trees it verified
     * @param queueNanos how long its steps waited, each from its tree's being ready until its pass started
     * @param missedPasses passes that started between two of its steps without it
     */
    public GenerationStats(Mode mode, int promptTokens, int newTokens, int[] acceptedPerStep, int[] nodesPerStep,
            double[] predictedPerStep, int[] sequencesPerStep, long prefillNanos, long draftNanos, long verifyNanos,
            long passShareNanos, long queueNanos, int missedPasses, long totalNanos) {
        this.mode = mode;
        this.promptTokens = promptTokens;
        this.newTokens = newTokens;
        this.acceptedPerStep = acceptedPerStep.clone();
        this.nodesPerStep = nodesPerStep.clone();
        this.predictedPerStep = predictedPerStep.clone();
        this.sequencesPerStep = sequencesPerStep.clone();
        this.prefillNanos = prefillNanos;
        this.draftNanos = draftNanos;
        this.verifyNanos = verifyNanos;
        this.passShareNanos = passShareNanos;
        this.queueNanos = queueNanos;
        this.missedPasses = missedPasses;
        this.totalNanos = totalNanos;
    }

    public Mode mode() {
        return mode;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int newTokens() {
        return newTokens;
    }

    /** Forward passes over draft trees (the prompt's prefill not counted). */
    public int steps() {
        return acceptedPerStep.length;
    }

    /** Tokens added to the output by each step, in order. */
    public int[] acceptedPerStep() {
        return acceptedPerStep.clone();
    }

    /** Draft nodes each step verified, the root not counted: 0 for plain decoding and for single-token steps. */
    public int[] nodesPerStep() {
        return nodesPerStep.clone();
    }

    /**
     * The tokens each step expected to add when it chose its tree (cost-aware {@link Mode#ADED} steps), to set
     * against {@link #acceptedPerStep()}; empty in the other modes.
     */
    public double[] predictedPerStep() {
        return predictedPerStep.clone();
    }

    /**
     * How many generations' trees each step's forward pass verified, this one's included: 1 throughout when it ran
     * alone, more when the generator batched it with others.
     */
    public int[] sequencesPerStep() {
        return sequencesPerStep.clone();
    }

    /** Generations per forward pass, this one included, averaged over its steps. */
    public double meanSequencesPerStep() {
        return steps() == 0 ? 0 : (double) Arrays.stream(sequencesPerStep).sum() / steps();
    }

    /** Draft nodes verified per forward pass. */
    public double meanNodesPerStep() {
        return steps() == 0 ? 0 : (double) Arrays.stream(nodesPerStep).sum() / steps();
    }

    /** New tokens per forward pass: 1.0 for plain decoding, higher when drafts are accepted. */
    public double meanAcceptedTokens() {
        return steps() == 0 ? 0 : (double) Arrays.stream(acceptedPerStep).sum() / steps();
    }

    public long prefillNanos() {
        return prefillNanos;
    }

    public long draftNanos() {
        return draftNanos;
    }

    public long verifyNanos() {
        return verifyNanos;
    }

    /**
     * This generation's share of the time of the forward passes it took part in: summed over the generations that
     * ran at once, the time the device was busy with their passes (see {@link #verifyNanos()} for the time this one
     * waited on them).
     */
    public long passShareNanos() {
        return passShareNanos;
    }

    /**
     * How long this generation's trees waited for their passes to start, summed over its steps: the other
     * generations' trees being drafted, a pass before it running, or (alone) nothing.
     */
    public long queueNanos() {
        return queueNanos;
    }

    /**
     * Passes that started between two of this generation's steps without it: its tree was not ready yet (the last
     * step still accepting, the next tree still being drafted) or did not fit the pass; each cost it a pass's wait.
     * 0 for a generation that ran alone.
     */
    public int missedPasses() {
        return missedPasses;
    }

    public long totalNanos() {
        return totalNanos;
    }

    /** New tokens per second of the whole call. */
    public double tokensPerSecond() {
        return totalNanos == 0 ? 0 : newTokens * 1e9 / totalNanos;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "%s: %d new tokens in %.1f ms (%.1f tok/s), %d steps, %.2f tokens/step, %.1f nodes/step,"
                        + " %.1f sequences/step, prefill %.1f ms, draft %.3f ms/step, verify %.2f ms/step",
                mode.id(), newTokens, totalNanos / 1e6, tokensPerSecond(), steps(), meanAcceptedTokens(),
                meanNodesPerStep(), meanSequencesPerStep(),
                prefillNanos / 1e6, steps() == 0 ? 0 : draftNanos / 1e6 / steps(),
                steps() == 0 ? 0 : verifyNanos / 1e6 / steps());
    }
}
