package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * With exact draft probabilities (no unseen mass, no calibration feedback) the expected accepted length of a tree is
 * known in closed form, so the drafters can be compared with the optimum and with the usual simple shapes.
 */
class ExpectedLengthTest {
    private static final DrafterOptions EXACT = DrafterOptions.defaults().withUnseenMass(0).withAdaptCounts(false);

    /**
     * Root continuations A (0.6) and B (0.4); after A five tokens of 0.2 each, after B a certain chain. With four
     * nodes the optimum is A, B and two chain tokens: 0.6 + 0.4 + 0.4 + 0.4 = 1.8, while the greedy chain gets
     * A, one of the five and its only continuation (0.6 + 0.12 + 0.12, then nothing follows) and a beam of width 2
     * gets A, B, B's chain token and one of the five: 0.6 + 0.4 + 0.4 + 0.12.
     */
    @Test
    void knownOptimumIsReached() {
        int prev = 0;
        int root = 1;
        int a = 2;
        int b = 3;
        MapCounts counts = new MapCounts(20).trigram(prev, root, a, 6).trigram(prev, root, b, 4);
        for (int t = 10; t < 15; t++) {
            counts.trigram(root, a, t, 1).bigram(t, 15, 1);
        }
        counts.trigram(root, b, 4, 1).trigram(b, 4, 5, 1).trigram(4, 5, 6, 1);
        int[] context = {prev, root};
        double greedy = Trees.expectedAccepted(Trees.greedyChain(counts, prev, root, 4, 8), prev, counts);
        double beam = Trees.expectedAccepted(Trees.beam(counts, prev, root, 2, 4, 8), prev, counts);
        assertEquals(0.6 + 0.12 + 0.12, greedy, 1e-9);
        assertEquals(0.6 + 0.4 + 0.4 + 0.12, beam, 1e-9);
        assertEquals(1.8, expected(new BestFirstDrafter(counts, EXACT), counts, context, 4, 8), 1e-6);
        assertEquals(1.8, expected(new MctsDrafter(counts, EXACT.withExploration(0)), counts, context, 4, 8), 1e-6);
        double mcts = expected(new MctsDrafter(counts, EXACT), counts, context, 4, 8);
        assertTrue(mcts >= beam - 1e-9, "mcts " + mcts + " < beam " + beam);
    }

    /**
     * On random skewed distributions best-first is the optimum, and MCTS at the default exploration must beat or tie
     * the greedy chain and a width-4 beam of the same size, and stay within 5% of the optimum.
     */
    @Test
    void randomDistributionsBeatChainAndBeam() {
        Random r = new Random(5);
        for (int seed = 0; seed < 20; seed++) {
            MapCounts counts = MapCounts.random(seed, 50, 6);
            for (int budget : new int[] {8, 16, 32, 64}) {
                int prev = r.nextInt(50);
                int root = r.nextInt(50);
                int[] context = {prev, root};
                int depth = 10;
                DraftTree chain = Trees.greedyChain(counts, prev, root, budget, depth);
                double greedy = Trees.expectedAccepted(chain, prev, counts);
                double beam = Trees.expectedAccepted(Trees.beam(counts, prev, root, 4, budget, depth), prev, counts);
                double best = expected(new BestFirstDrafter(counts, EXACT), counts, context, budget, depth);
                double mcts = expected(new MctsDrafter(counts, EXACT), counts, context, budget, depth);
                String where = "seed " + seed + " budget " + budget;
                assertTrue(best >= greedy - 1e-9 && best >= beam - 1e-9, where + ": best-first not optimal");
                assertTrue(mcts >= greedy - 1e-9, where + ": mcts " + mcts + " < greedy " + greedy);
                assertTrue(mcts >= beam - 1e-9, where + ": mcts " + mcts + " < beam " + beam);
                assertTrue(mcts >= 0.95 * best, where + ": mcts " + mcts + " far below best-first " + best);
            }
        }
    }

    /** With no exploration the search expands exactly what best-first would, so the two trees are worth the same. */
    @Test
    void mctsWithoutExplorationMatchesBestFirst() {
        for (int seed = 0; seed < 10; seed++) {
            MapCounts counts = MapCounts.random(100 + seed, 50, 6);
            int[] context = {seed, seed + 1};
            for (int budget : new int[] {8, 32, 64}) {
                double best = expected(new BestFirstDrafter(counts, EXACT), counts, context, budget, 10);
                double mcts = expected(new MctsDrafter(counts, EXACT.withExploration(0)), counts, context, budget, 10);
                assertEquals(best, mcts, 1e-9, "seed " + seed + " budget " + budget);
            }
        }
    }

    private static double expected(Drafter drafter, MapCounts counts, int[] context, int budget, int depth) {
        DraftTree tree = new DraftTree(budget + 1);
        tree.reset(context[context.length - 1]);
        drafter.draft(context, context.length, budget, depth, tree);
        Trees.assertValid(tree, budget, depth);
        return Trees.expectedAccepted(tree, context[context.length - 2], counts);
    }
}
