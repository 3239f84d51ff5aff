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
        // The branch keeps 10 nodes of the 32 for itself.
        assertEquals(22, inner.budgetSeen);
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
