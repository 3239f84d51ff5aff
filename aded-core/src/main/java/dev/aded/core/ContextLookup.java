package dev.aded.core;

import dev.aded.core.text.Tokenizer;

/**
 * A tree drafter with one more branch: the continuation of the sequence's last tokens where they occurred before
 * in the prompt or the text so far (the prompt-lookup chain), merged into the tree. The datastore knows the
 * corpus; this branch knows the request (names, repeated lines), which the corpus cannot. Where the tree already
 * holds a prefix of the chain, only the rest is added, so the branch costs at most {@link #MAX_TOKENS} nodes of
 * the step's budget.
 */
public final class ContextLookup implements Drafter {
    /** Nodes kept for the branch: prompt lookup's chain length. */
    static final int MAX_TOKENS = PromptLookupDrafter.MAX_TOKENS;

    private final Drafter tree;

    private ContextLookup(Drafter tree) {
        this.tree = tree;
    }

    /** The factory's drafters, each with the context-lookup branch; same name, same compatibility check. */
    public static DrafterFactory around(DrafterFactory factory) {
        return new DrafterFactory() {
            @Override
            public String name() {
                return factory.name();
            }

            @Override
            public Drafter newDrafter() {
                return new ContextLookup(factory.newDrafter());
            }

            @Override
            public void checkCompatible(Tokenizer tokenizer) {
                factory.checkCompatible(tokenizer);
            }
        };
    }

    @Override
    public void draft(int[] context, int length, int budget, int maxDepth, DraftTree out) {
        int chain = Math.min(MAX_TOKENS, Math.min(maxDepth, budget / 2));
        tree.draft(context, length, budget - chain, maxDepth, out);
        long found = PromptLookupDrafter.lookup(context, length, chain);
        int node = 0;
        for (int i = (int) (found >>> 32); i < (int) found; i++) {
            int next = out.child(node, context[i]);
            if (next < 0 && out.size() == out.capacity()) {
                return;
            }
            if (next >= 0) {
                out.markLookup(next);
                node = next;
            } else {
                node = out.addLookup(node, context[i]);
            }
        }
    }

    @Override
    public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {
        tree.onAccepted(context, length, newTokens, acceptedDraftTokens);
    }
}
