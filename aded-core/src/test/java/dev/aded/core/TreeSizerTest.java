package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TreeSizerTest {
    /** The CPU's shape: a tree pass costs about twice a single-token pass at 12 nodes and four times at 64. */
    private static final VerifierCostModel CPU =
            VerifierCostModel.measured(new int[] {1, 16, 65}, new double[] {10e6, 19e6, 40e6});
    /** A graph-replayed GPU's shape: 64 nodes cost a third more than one. */
    private static final VerifierCostModel GPU =
            VerifierCostModel.measured(new int[] {1, 65}, new double[] {7.5e6, 10.1e6});

    /** A chain of {@code n} drafted tokens below the root, each of draft probability {@code q}. */
    private static void chain(DraftTree t, int n, float q) {
        t.reset(100);
        for (int i = 0; i < n; i++) {
            t.add(i, 101 + i, q);
        }
    }

    /** Offers a CPU-priced sizer a chain of 8 candidates of draft probability q; returns the expected tokens. */
    private static double chooseOnChain(float q, DraftTree out) {
        TreeSizer sizer = new TreeSizer(64, CPU);
        chain(sizer.candidates(), 8, q);
        return sizer.choose(out, 100, 50_000, StepScheduler.Pass.ALONE);
    }

    @Test
    void unlikelyDraftsGiveWayToTheSingleToken() {
        DraftTree out = new DraftTree(65);
        double expected = chooseOnChain(0.05f, out);
        assertEquals(1, out.size(), "only the root is verified");
        assertEquals(1.0, expected, 1e-12);
    }

    @Test
    void draftsHalfAgainWhatItChoseLatelyButNeverBelowTheMinimum() {
        TreeSizer sizer = new TreeSizer(63, GPU);
        assertEquals(63, sizer.draftNodes(63), "the first steps draft the whole budget");
        assertEquals(40, sizer.draftNodes(40), "never past what the step allows");
        DraftTree out = new DraftTree(64);
        for (int step = 0; step < 30; step++) {
            chain(sizer.candidates(), 8, 0.05f); // nothing worth verifying
            sizer.choose(out, 100, 50_000, StepScheduler.Pass.ALONE);
        }
        assertEquals(TreeSizer.MIN_DRAFT, sizer.draftNodes(63));
        for (int step = 0; step < 30; step++) {
            chain(sizer.candidates(), 30, 0.99f); // a confident chain, all of it chosen on a GPU
            sizer.choose(out, 100, 50_000, StepScheduler.Pass.ALONE);
        }
        assertEquals(31, out.size());
        assertEquals(45, sizer.draftNodes(63), "room for the choice to grow");
    }

    @Test
    void aConfidentChainIsWorthItsCost() {
        DraftTree out = new DraftTree(65);
        double expected = chooseOnChain(0.95f, out);
        assertEquals(9, out.size());
        double sum = 1;
        double path = 1;
        for (int i = 0; i < 8; i++) {
            path *= 0.95;
            sum += path;
        }
        assertEquals(sum, expected, 1e-6);
    }

    @Test
    void cheapWideTreesOnAGpuExpensiveOnesTrimmedOnTheCpu() {
        DraftTree candidates = null;
        int[] verified = new int[2];
        VerifierCostModel[] devices = {CPU, GPU};
        for (int d = 0; d < 2; d++) {
            TreeSizer sizer = new TreeSizer(64, devices[d]);
            candidates = sizer.candidates();
            candidates.reset(100);
            // 16 siblings of falling probability, each with a child of probability 0.5.
            for (int i = 0; i < 16; i++) {
                int c = candidates.add(0, 200 + i, 0.4f / (1 + i));
                candidates.add(c, 300 + i, 0.5f);
            }
            DraftTree out = new DraftTree(65);
            sizer.choose(out, 100, 50_000, StepScheduler.Pass.ALONE);
            verified[d] = out.size() - 1;
            Trees.assertTopByPathValue(candidates, out);
        }
        assertTrue(verified[0] < verified[1], "cpu " + verified[0] + " nodes, gpu " + verified[1]);
        assertTrue(verified[0] > 0, "the likeliest candidates pay even on the cpu");
    }

    @Test
    void aTreeThatSharesAComputeBoundPassBuysFewerNodes() {
        // The 7B shape on a GPU: weight-bound up to some 64 nodes, compute-bound past a few hundred.
        VerifierCostModel gpu7b = VerifierCostModel.measured(new int[] {1, 64, 256, 1024},
                new double[] {7.7e6, 8.5e6, 12e6, 30e6});
        int[] verified = new int[2];
        StepScheduler.Pass[] passes = {StepScheduler.Pass.ALONE, new StepScheduler.Pass(16, 16 * 40)};
        for (int p = 0; p < 2; p++) {
            TreeSizer sizer = new TreeSizer(63, gpu7b);
            chain(sizer.candidates(), 40, 0.8f);
            DraftTree out = new DraftTree(64);
            sizer.choose(out, 100, 50_000, passes[p]);
            verified[p] = out.size() - 1;
        }
        assertTrue(verified[0] >= 16, "alone, nodes are nearly free: " + verified[0]);
        assertTrue(verified[1] > 0 && verified[1] <= verified[0] / 2,
                "shared by 16: " + verified[1] + " nodes against " + verified[0] + " alone");
    }

    @Test
    void learnsFromTheWholeCandidateTreeAndReportsTheMatchedPath() {
        TreeSizer sizer = new TreeSizer(8, CPU);
        DraftTree candidates = sizer.candidates();
        chain(candidates, 3, 0.9f);
        double before = sizer.estimate(1);
        // The model took 101 and 102 and then its own 7: a path of 2 through the candidates, a miss at depth 3.
        assertEquals(2, sizer.learn(new int[] {101, 102, 7}, 3));
        for (int i = 0; i < 20; i++) {
            sizer.learn(new int[] {5}, 1);
        }
        assertTrue(sizer.estimate(1) < before / 2, "estimate " + sizer.estimate(1) + " after 20 misses");
    }

    @Test
    void lookupChainNodesAreEstimatedByTheirOwnRecord() {
        TreeSizer sizer = new TreeSizer(8, CPU);
        DraftTree candidates = sizer.candidates();
        candidates.reset(100);
        int drafted = candidates.add(0, 101, 0.3f);
        int lookup = candidates.addLookup(0, 102);
        candidates.setLookupMatch(9);
        assertEquals(0.95, sizer.estimate(lookup), 1e-12, "an untried chain after a long match is trusted");
        candidates.setLookupMatch(1);
        assertEquals(0.25, sizer.estimate(lookup), 1e-12, "after a one-token match it is not");
        candidates.setLookupMatch(9);
        for (int i = 0; i < 10; i++) {
            sizer.learn(new int[] {101}, 1);
        }
        assertTrue(sizer.estimate(lookup) < 0.2, "chain estimate " + sizer.estimate(lookup));
        candidates.setLookupMatch(1);
        assertEquals(0.25, sizer.estimate(lookup), 1e-12, "misses after long matches say nothing of short ones");
        candidates.setLookupMatch(9);
        assertTrue(sizer.estimate(drafted) > 0.3, "drafted estimate " + sizer.estimate(drafted));
        DraftTree out = new DraftTree(9);
        sizer.choose(out, 10, 0, StepScheduler.Pass.ALONE);
        for (int i = 1; i < out.size(); i++) {
            assertEquals(out.token(i) == 102, out.isLookup(i), "lookup marks follow the nodes they were set on");
        }
    }

    @Test
    void aGenerationStartsFromWhatEarlierOnesOfItsGeneratorObserved() {
        TreeSizer.Record record = new TreeSizer.Record();
        TreeSizer first = new TreeSizer(8, CPU, record);
        int lookup = chainAfterLongMatch(first);
        for (int i = 0; i < 200; i++) {
            first.learn(new int[] {101}, 1); // the chain's first token, missed every time
        }
        TreeSizer before = new TreeSizer(8, CPU, record);
        assertEquals(0.95, before.estimate(chainAfterLongMatch(before)), 1e-12, "nothing handed on yet");
        first.handBack();
        TreeSizer second = new TreeSizer(8, CPU, record);
        assertEquals(lookup, chainAfterLongMatch(second));
        double seeded = second.estimate(lookup);
        assertTrue(seeded < 0.2, "seeded estimate " + seeded);
        // The record is capped when seeding, so that a few hits of the new generation's own soon move it back up.
        for (int i = 0; i < 16; i++) {
            second.learn(new int[] {102}, 1);
        }
        assertTrue(second.estimate(lookup) > 0.45, "estimate after 16 hits " + second.estimate(lookup));
    }

    @Test
    void aNodeBothDraftedAndOnTheChainIsRatedLikeTheChainOnItsOwnRecord() {
        TreeSizer sizer = new TreeSizer(8, CPU);
        int node = chainAfterLongMatch(sizer);
        sizer.candidates().reset(100);
        int both = sizer.candidates().add(0, 102, 0.01f);
        sizer.candidates().markLookup(both);
        sizer.candidates().setLookupMatch(9);
        assertEquals(0.95, sizer.estimate(both), 1e-12, "a draft probability of 0.01 does not sink a long match");
        for (int i = 0; i < 10; i++) {
            sizer.learn(new int[] {101}, 1);
        }
        assertTrue(sizer.estimate(both) < 0.2, "after 10 misses: " + sizer.estimate(both));
        assertEquals(node, chainAfterLongMatch(sizer));
        assertEquals(0.95, sizer.estimate(node), 1e-12, "chain-only nodes keep a record of their own");
    }

    /** Fills the sizer's candidates with one chain node (token 102) found by a match of 9 tokens; returns it. */
    private static int chainAfterLongMatch(TreeSizer sizer) {
        DraftTree candidates = sizer.candidates();
        candidates.reset(100);
        int lookup = candidates.addLookup(0, 102);
        candidates.setLookupMatch(9);
        return lookup;
    }
}
