package dev.aded.verify;

import static dev.aded.verify.TreeForwardTest.argmax;
import static dev.aded.verify.TreeForwardTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import dev.aded.core.text.Tokenizer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One pass over the trees of several sessions of a batching model must give every node of every tree the logits a
 * session of its own gives it, commit each path into its own slot only, and let sessions beyond the slots run
 * beside the batch; nothing of a pass may outlive the sessions that read it. Every way of reading the keys: in place
 * (three sessions fill the three slots), gathered (three sessions of 32 slots, too few to read them all), and by
 * slot (the tree-attention kernel's layout, its slots gathered by DJL's operators here), each also laid out as the
 * GPU's graphs lay passes out.
 */
class BatchedForwardTest {
    private static LlamaModel single;
    private static LlamaModel batching;
    private static LlamaModel sparse;
    /** Like {@link #batching} and {@link #sparse}, their passes laid out as CUDA graphs lay theirs. */
    private static LlamaModel graphShaped;
    private static LlamaModel sparseGraphShaped;
    /** Passes laid out by slot, eagerly and as graphs lay them out. */
    private static LlamaModel bySlot;
    private static LlamaModel bySlotGraphShaped;
    private static int[][] prompts;

    @BeforeAll
    static void load() {
        single = LlamaModel.load(TreeForwardTest.MODEL, Device.cpu());
        batching = batching(3, false, false);
        sparse = batching(32, false, false);
        graphShaped = batching(3, true, false);
        sparseGraphShaped = batching(32, true, false);
        bySlot = batching(32, false, true);
        bySlotGraphShaped = batching(32, true, true);
        try (Tokenizer t = Tokenizer.load(TreeForwardTest.MODEL)) {
            prompts = new int[][] {
                t.encode("def binary_search(items, target):\n    lo, hi = 0, len(items) - 1\n"),
                t.encode("import os\n"),
                t.encode("class Graph:\n    def __init__(self):\n        self.nodes = {}\n        self.edges = []\n"),
                t.encode("x = 1"),
            };
        }
    }

    /** A model batching {@code slots} slots of 160 tokens, its passes laid out as asked. */
    private static LlamaModel batching(int slots, boolean likeGraphs, boolean bySlot) {
        LlamaModel m = LlamaModel.load(TreeForwardTest.MODEL, Device.cpu());
        m.batching(slots, 160);
        if (likeGraphs) {
            m.layOutBatchesLikeGraphs();
        }
        if (bySlot) {
            m.attendBatchesBySlot();
        }
        return m;
    }

    @AfterAll
    static void close() {
        single.close();
        batching.close();
        sparse.close();
        graphShaped.close();
        sparseGraphShaped.close();
        bySlot.close();
        bySlotGraphShaped.close();
    }

    @Test
    void treesOfSeveralSessionsInOnePassMatchTheirOwnSessions() {
        // 3 slots: the fourth session runs outside the batch
        treesInOnePassMatchTheirOwnSessions(batching, "batching 3 slots", prompts.length, new int[] {1, 9, 23, 4});
    }

    @Test
    void treesOfAFewSessionsOfManySlotsMatchTheirOwnSessions() {
        treesInOnePassMatchTheirOwnSessions(sparse, "batching 32 slots", 3, new int[] {1, 9, 23, 4});
        // Trees of one size: the gathered pass runs them unpacked, row for row.
        treesInOnePassMatchTheirOwnSessions(sparse, "batching 32 slots", 3, new int[] {6});
    }

    @Test
    void passesLaidOutAsGraphsMatchTheirOwnSessions() {
        // Four sequences' bucket, the fourth a padding one; trees of 1 + 9 + 23 nodes packed into 64 rows, not 4·32.
        treesInOnePassMatchTheirOwnSessions(graphShaped, "batching 3 slots", 3, new int[] {1, 9, 23});
        treesInOnePassMatchTheirOwnSessions(sparseGraphShaped, "batching 32 slots", 3, new int[] {1, 9, 23});
        // Three trees of 6 nodes fill 32 rows as 4·8 does: padded, not packed.
        treesInOnePassMatchTheirOwnSessions(sparseGraphShaped, "batching 32 slots", 3, new int[] {6});
    }

    @Test
    void passesBySlotMatchTheirOwnSessions() {
        treesInOnePassMatchTheirOwnSessions(bySlot, "batching 32 slots", 3, new int[] {1, 9, 23, 4});
        treesInOnePassMatchTheirOwnSessions(bySlot, "batching 32 slots", 3, new int[] {6});
        treesInOnePassMatchTheirOwnSessions(bySlotGraphShaped, "batching 32 slots", 3, new int[] {1, 9, 23});
        treesInOnePassMatchTheirOwnSessions(bySlotGraphShaped, "batching 32 slots", 3, new int[] {6});
    }

    private static void treesInOnePassMatchTheirOwnSessions(LlamaModel batching, String mode, int count,
            int[] sizes) {
        Random random = new Random(5);
        ModelSession[] batched = new ModelSession[count];
        ModelSession[] alone = new ModelSession[count];
        DraftTree[] trees = new DraftTree[count];
        batching.newSession(1).close(); // the batch's caches, made at the first session, stay with the model
        SortedMap<String, Integer> tensorsBefore = NativeMemory.tensorCensus(batching);
        try {
            for (int i = 0; i < count; i++) {
                batched[i] = batching.newSession(prompts[i].length + 64);
                alone[i] = single.newSession(prompts[i].length + 64);
                batched[i].prefill(prompts[i], 0, prompts[i].length - 1);
                alone[i].prefill(prompts[i], 0, prompts[i].length - 1);
            }
            assertTrue(batching.stepMode().contains(mode), batching.stepMode());
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < count; i++) {
                    int last = round == 0 ? prompts[i][prompts[i].length - 1] : 11 + round;
                    trees[i] = GraphCheck.tree(last, sizes[(i + round) % sizes.length], false, single.vocabSize(),
                            random);
                }
                TreeLogits[] out = batching.forwardAll(batched, trees, count);
                for (int i = 0; i < count; i++) {
                    TreeLogits own = alone[i].forward(trees[i]);
                    compare(own, out[i], trees[i], "round " + round + ", session " + i);
                }
                // Each keeps a different path: the deepest node's, so that commits move rows within each slot.
                for (int i = 0; i < count; i++) {
                    int[] path = pathToDeepest(trees[i]);
                    batched[i].commit(path, path.length);
                    alone[i].commit(path, path.length);
                    assertEquals(alone[i].cachedLength(), batched[i].cachedLength());
                }
            }
        } finally {
            for (int i = 0; i < count; i++) {
                if (batched[i] != null) {
                    batched[i].close();
                }
                if (alone[i] != null) {
                    alone[i].close();
                }
            }
        }
        assertEquals(tensorsBefore, NativeMemory.tensorCensus(batching), "tensors left behind by the passes");
    }

    @Test
    void aPassReadsTheSlotsInPlaceWhenTheIdleOnesCostLessThanAGather() {
        // The two measured on an H100 (BatchedSteps.inPlace): 16 streams in a batch of 64 slots.
        assertTrue(BatchedSteps.readsInPlace(11, 64, 32, 128, 1, 2), "7B shape, 11 trees of up to 32 nodes");
        assertFalse(BatchedSteps.readsInPlace(14, 64, 64, 64, 3, 2), "code-15m, 14 trees of up to 64 nodes");
        assertTrue(BatchedSteps.readsInPlace(52, 64, 16, 64, 3, 2), "code-15m at 64 streams, 52 trees");
        assertTrue(BatchedSteps.readsInPlace(3, 3, 64, 64, 3, 4), "every slot in the pass");
        assertFalse(BatchedSteps.readsInPlace(1, 64, 1, 128, 1, 2), "one sequence of 64 slots");
    }

    @Test
    void aLoneSessionsStepsMeetEveryGraphBucketItsTreesCan() {
        for (int maxNodes : new int[] {1, 8, 40, 64, 256}) {
            for (int maxTokens : new int[] {1, 10, 64, 65, 100, 300, 2048}) {
                for (int slotRows : new int[] {maxTokens, 2048}) {
                    Set<Long> keys = new HashSet<>();
                    Set<Long> pasts = new HashSet<>();
                    int before = 0;
                    for (int[] step : BatchedSteps.loneSteps(maxNodes, maxTokens, slotRows)) {
                        int nodes = step[0];
                        int cached = step[1];
                        assertTrue(cached >= before && cached + nodes <= maxTokens,
                                "one session grows through the steps: " + Arrays.toString(step));
                        before = cached;
                        long bucket = (long) GraphedSteps.ceilPow2(nodes) << 32;
                        keys.add(bucket | BatchedSteps.keyBucket(cached + nodes, slotRows));
                        pasts.add(bucket | BatchedSteps.keyBucket(Math.max(1, cached), slotRows));
                    }
                    String what = maxNodes + " nodes, " + maxTokens + " tokens, slots of " + slotRows;
                    for (int n = 1; n <= Math.min(maxNodes, maxTokens); n++) {
                        long bucket = (long) GraphedSteps.ceilPow2(n) << 32;
                        for (int cached = 0; cached + n <= maxTokens; cached++) {
                            int k = BatchedSteps.keyBucket(cached + n, slotRows);
                            int p = BatchedSteps.keyBucket(Math.max(1, cached), slotRows);
                            assertTrue(keys.contains(bucket | k), what + ": keys bucket " + k + " of " + n + " nodes");
                            assertTrue(pasts.contains(bucket | p), what + ": past bucket " + p + " of " + n + " nodes");
                        }
                    }
                }
            }
        }
    }

    @Test
    void steppingAloneThroughTheBucketsLeavesTheSlotsAndTheirMemoryAsTheyWere() {
        SortedMap<String, Integer> tensorsBefore = NativeMemory.tensorCensus(sparse);
        sparse.stepAloneInASlot(100, 8);
        assertEquals(tensorsBefore, NativeMemory.tensorCensus(sparse), "tensors left behind by the steps");
        ModelSession[] open = new ModelSession[32];
        try {
            for (int s = 0; s < open.length; s++) {
                open[s] = sparse.newSession(100);
                assertTrue(((LlamaSession) open[s]).slot() >= 0, "session " + s + " has no slot");
            }
        } finally {
            for (ModelSession s : open) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aClosedSessionGivesItsSlotToTheNext() {
        for (int i = 0; i < 5; i++) {
            ModelSession[] open = new ModelSession[3];
            for (int s = 0; s < 3; s++) {
                open[s] = batching.newSession(100);
                assertTrue(((LlamaSession) open[s]).slot() >= 0, "session " + s + " of round " + i + " has no slot");
            }
            for (ModelSession s : open) {
                s.close();
            }
        }
        try (ModelSession tooLong = batching.newSession(161)) {
            assertEquals(-1, ((LlamaSession) tooLong).slot(), "a session longer than a slot runs outside the batch");
        }
    }

    private static void compare(TreeLogits expected, TreeLogits actual, DraftTree tree, String what) {
        float[] want = new float[single.vocabSize()];
        float[] got = new float[single.vocabSize()];
        for (int node = 0; node < tree.size(); node++) {
            expected.logits(node, want);
            actual.logits(node, got);
            assertClose(want, got, 1e-3f, what + ", node " + node);
            assertEquals(argmax(want), actual.argmax(node), what + ", argmax of node " + node);
            assertEquals(expected.argmax(node), actual.argmax(node), what + ", argmax of node " + node);
        }
    }

    private static int[] pathToDeepest(DraftTree tree) {
        int deepest = 0;
        for (int n = 1; n < tree.size(); n++) {
            if (tree.depth(n) > tree.depth(deepest)) {
                deepest = n;
            }
        }
        int[] path = new int[tree.depth(deepest) + 1];
        for (int n = deepest; n > 0; n = tree.parent(n)) {
            path[tree.depth(n)] = n;
        }
        return Arrays.copyOf(path, path.length);
    }
}
