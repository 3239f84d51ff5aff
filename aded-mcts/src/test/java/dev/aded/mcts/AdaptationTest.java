package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import org.junit.jupiter.api.Test;

class AdaptationTest {

    @Test
    void acceptedTokensReachTheAdaptiveCounts() {
        for (boolean mcts : new boolean[] {true, false}) {
            MapCounts counts = new MapCounts(50).bigram(2, 3, 1);
            Drafter drafter = mcts ? new MctsDrafter(counts, DrafterOptions.defaults())
                    : new BestFirstDrafter(counts, DrafterOptions.defaults());
            int[] context = {1, 2, 30, 31, 32};
            drafter.onAccepted(context, 5, 3, 2);
            assertEquals(1, counts.trigramCount(1, 2, 30));
            assertEquals(1, counts.trigramCount(2, 30, 31));
            assertEquals(1, counts.trigramCount(30, 31, 32));
            // Only the new tokens count: the prompt's own tri-grams were never reported as produced.
            assertEquals(0, counts.trigramCount(0, 1, 2));
        }
    }

    @Test
    void countAdaptationCanBeSwitchedOff() {
        MapCounts counts = new MapCounts(50);
        Drafter drafter = new MctsDrafter(counts, DrafterOptions.defaults().withAdaptCounts(false));
        drafter.onAccepted(new int[] {1, 2, 30, 31, 32}, 5, 3, 2);
        assertEquals(0, counts.trigramCount(2, 30, 31));
    }

    /**
     * Root continuations A (0.6) and B (0.3); both go on with a 0.9 chain. Three nodes first go to A's chain
     * (0.6, 0.54, 0.49 beat B's 0.3). When verification keeps taking A but never the 0.9 token after it, the
     * calibration lowers the 0.9 band and B, whose band was never contradicted, enters the tree.
     */
    @Test
    void rejectedConfidentTokensShiftTheTreeTowardsSiblings() {
        int prev = 0;
        int root = 1;
        int a = 2;
        int b = 3;
        MapCounts counts = new MapCounts(60).trigram(prev, root, a, 6).trigram(prev, root, b, 3)
                .trigram(prev, root, 40, 1);
        for (int parent : new int[] {a, b}) {
            counts.trigram(root, parent, 10 + parent, 9).trigram(root, parent, 50, 1);
            counts.trigram(parent, 10 + parent, 20 + parent, 9).trigram(parent, 10 + parent, 50, 1);
        }
        DrafterOptions options = DrafterOptions.defaults().withUnseenMass(0).withAdaptCounts(false);
        MctsDrafter drafter = new MctsDrafter(counts, options);
        BestFirstDrafter bestFirst = new BestFirstDrafter(counts, options);
        for (Drafter d : new Drafter[] {drafter, bestFirst}) {
            String name = d.getClass().getSimpleName();
            assertFalse(draftContains(d, b), name + ": B drafted before any feedback");
            for (int step = 0; step < 10; step++) {
                draftContains(d, b);
                // The model takes A, then rejects A's 0.9 continuation and says 59 itself.
                d.onAccepted(new int[] {prev, root, a, 59}, 4, 2, 1);
            }
            assertTrue(draftContains(d, b), name + ": B still not drafted after the 0.9 band kept failing");
        }
        assertTrue(drafter.calibrationRatio(0.9) < 0.5, "0.9 band ratio " + drafter.calibrationRatio(0.9));
        assertTrue(drafter.calibrationRatio(0.6) > 1.0, "0.6 band ratio " + drafter.calibrationRatio(0.6));

        MctsDrafter fixed = new MctsDrafter(counts, options.withAdaptPolicy(false));
        for (int step = 0; step < 10; step++) {
            draftContains(fixed, b);
            fixed.onAccepted(new int[] {prev, root, a, 59}, 4, 2, 1);
        }
        assertEquals(1.0, fixed.calibrationRatio(0.9));
        assertFalse(draftContains(fixed, b), "policy adaptation is off, yet the tree changed");
    }

    private static boolean draftContains(Drafter drafter, int token) {
        DraftTree tree = new DraftTree(4);
        tree.reset(1);
        drafter.draft(new int[] {0, 1}, 2, 3, 8, tree);
        Trees.assertValid(tree, 3, 8);
        return tree.child(0, token) >= 0;
    }
}
