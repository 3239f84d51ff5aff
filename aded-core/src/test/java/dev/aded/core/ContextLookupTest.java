package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ContextLookupTest {
    /** "7 8" occurred before, followed by 9 10 11 3. */
    private static final int[] CTX = {1, 7, 8, 9, 10, 11, 3, 5, 7, 8};

    /** A tree drafter that proposes the same branch each time: root → 9 → 12, and root → 4. */
    private static final class FixedBranch implements Drafter {
        int budgetSeen;
        int accepted = -1;

        @Override
        public void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree) {
            budgetSeen = budget;
            int a = tree.add(0, 9, 0.6f);
            tree.add(a, 12, 0.3f);
            tree.add(0, 4, 0.2f);
        }

        @Override
        public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {
            accepted = acceptedDraftTokens;
        }
    }

    @Test
    void mergesTheLookupChainIntoTheTreeSharingItsPrefix() {
        FixedBranch inner = new FixedBranch();
        Drafter d = ContextLookup.around(factory(inner)).newDrafter();
        DraftTree t = new DraftTree(33);
        t.reset(8);
        d.draft(CTX, CTX.length, 32, 16, t);
        // The branch keeps 16 nodes of the 32 for itself.
        assertEquals(16, inner.budgetSeen);
        assertEquals(2, t.lookupMatch(), "7 8 matched two tokens back");
        // 9 is shared with the tree's branch; 10 11 3 5 7 8 follow it as new nodes (capped by the context end).
        int nine = t.child(0, 9);
        assertEquals(1, nine);
        int node = nine;
        for (int token : new int[] {10, 11, 3, 5, 7, 8}) {
            node = t.child(node, token);
            assertTrue(node > 0, "chain token " + token + " missing");
        }
        assertEquals(7, t.depth(node));
        assertEquals(1 + 3 + 6, t.size());
        d.onAccepted(CTX, CTX.length, 2, 1);
        assertEquals(1, inner.accepted);
    }

    @Test
    void followsTheOccurrenceThatMatchesFurthestBack() {
        // "5 7" occurs first followed by 1, then "4 5 7" followed by 2, then "9 5 7" followed by 3; the context ends
        // "4 5 7": the match of three tokens wins over the earlier and the later two-token matches.
        int[] ctx = {5, 7, 1, 4, 5, 7, 2, 9, 5, 7, 3, 8, 4, 5, 7};
        long found = ContextLookup.longestMatch(ctx, ctx.length);
        assertEquals(3, (int) (found >>> 32), "match length");
        assertEquals(6, (int) found, "the chain starts at the 2");
        // Among equal matches the latest wins: "x 7" after a last token 7 with no longer match.
        int[] equal = {7, 1, 0, 7, 2, 6, 7};
        assertEquals(1L << 32 | 4, ContextLookup.longestMatch(equal, equal.length));
        assertEquals(0, ContextLookup.longestMatch(new int[] {1, 2, 3}, 3), "3 never occurred before");
    }

    @Test
    void neverOverflowsTheTree() {
        DraftTree t = new DraftTree(5);
        t.reset(8);
        ContextLookup.around(factory(new FixedBranch())).newDrafter().draft(CTX, CTX.length, 4, 16, t);
        assertEquals(5, t.size());
    }

    private static DrafterFactory factory(Drafter d) {
        return new DrafterFactory() {
            @Override
            public String name() {
                return "fixed";
            }

            @Override
            public Drafter newDrafter() {
                return d;
            }
        };
    }
}
