package dev.aded.core;

/**
 * Proposes continuations of a token context as a {@link DraftTree}. One instance serves one generation at a time
 * (thread-confined); a {@link DrafterFactory} hands out instances that share the underlying statistics.
 */
public interface Drafter {

    /**
     * Grows {@code tree}, whose root is already set to {@code context[length - 1]}, by at most {@code budget}
     * nodes below the root and at most {@code maxDepth} levels deep.
     *
     * @param context the whole token history, prompt and generated tokens; only {@code [0, length)} is valid
     */
    void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree);

    /**
     * Reports the outcome of verifying the last draft: {@code context[0, length)} now ends with the
     * {@code newTokens} tokens the step produced, of which the first {@code acceptedDraftTokens} lie on a path of
     * the tree this drafter grew (where the loop verified only part of that tree, this may include the model's own
     * last token, when the drafter had proposed it). Drafters learn from it: adaptive counts and calibration.
     */
    void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens);
}
