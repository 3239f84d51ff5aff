package dev.aded.core;

/**
 * Hugging Face's repetition penalty (CTRL, Keskar et al. 2019) over the tokens of one sequence: the logit of every
 * token already in it is divided by the penalty when positive and multiplied by it when negative, whatever its
 * count. The sequence grows token by token as the acceptance walk chooses them, so each node on the path is
 * penalised by exactly the context it was verified in: the committed tokens plus the path above it.
 */
final class RepetitionPenalty {
    private final float penalty;
    private final boolean[] seen;
    private final int[] distinct;
    private int count;

    RepetitionPenalty(int vocabSize, double penalty, int[] prefix) {
        this.penalty = (float) penalty;
        this.seen = new boolean[vocabSize];
        this.distinct = new int[vocabSize];
        for (int token : prefix) {
            add(token);
        }
    }

    void add(int token) {
        if (!seen[token]) {
            seen[token] = true;
            distinct[count++] = token;
        }
    }

    /** Penalises {@code logits} in place for the tokens seen so far. */
    void apply(float[] logits) {
        for (int i = 0; i < count; i++) {
            int token = distinct[i];
            float l = logits[token];
            logits[token] = l < 0 ? l * penalty : l / penalty;
        }
    }
}
