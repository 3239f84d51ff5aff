package dev.aded.core;

/**
 * Prompt-lookup drafts, as Hugging Face's {@code prompt_lookup_num_tokens}: find the earliest earlier occurrence of
 * the sequence's last n tokens (n from {@value #MAX_NGRAM} down to 1) and propose the tokens that followed it, as
 * one chain. Needs no data, learns nothing.
 */
public final class PromptLookupDrafter implements Drafter {
    /** Hugging Face's default {@code max_matching_ngram_size}. */
    static final int MAX_NGRAM = 2;
    /** Hugging Face's default {@code prompt_lookup_num_tokens}. */
    static final int MAX_TOKENS = 10;

    /** A factory for the {@code pld} mode. */
    public static final DrafterFactory FACTORY = new DrafterFactory() {
        @Override
        public String name() {
            return "pld";
        }

        @Override
        public Drafter newDrafter() {
            return new PromptLookupDrafter();
        }
    };

    @Override
    public void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree) {
        long found = lookup(context, length, Math.min(MAX_TOKENS, Math.min(budget, maxDepth)));
        int node = 0;
        for (int i = (int) (found >>> 32); i < (int) found; i++) {
            node = tree.add(node, context[i], 1f);
        }
    }

    /**
     * Where the continuation of the earliest earlier occurrence of the sequence's last n tokens lies (n from
     * {@value #MAX_NGRAM} down to 1), at most {@code want} tokens: {@code from << 32 | to}, empty when none.
     */
    static long lookup(int[] context, int length, int want) {
        for (int n = Math.min(MAX_NGRAM, length - 1); n >= 1 && want > 0; n--) {
            int suffix = length - n;
            for (int start = 0; start < suffix; start++) {
                if (matches(context, start, suffix, n)) {
                    int from = start + n;
                    int to = Math.min(from + want, length);
                    if (from < to) {
                        return (long) from << 32 | to;
                    }
                }
            }
        }
        return 0;
    }

    private static boolean matches(int[] context, int a, int b, int n) {
        for (int i = 0; i < n; i++) {
            if (context[a + i] != context[b + i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {}
}
