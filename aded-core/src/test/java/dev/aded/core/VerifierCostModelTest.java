package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

class VerifierCostModelTest {

    /**
     * A model whose pass over n nodes takes 2 ms + 0.5 ms per node (n rounded up to a power of two when it pads,
     * as CUDA graphs do); it records the tree sizes it was given.
     */
    private static final class SlowModel implements TargetModel {
        final List<Integer> passes = new ArrayList<>();
        final boolean pads;
        boolean open;

        SlowModel(boolean pads) {
            this.pads = pads;
        }

        @Override
        public int paddedNodes(int nodes) {
            return pads ? Integer.highestOneBit(nodes - 1) << 1 | (nodes == 1 ? 1 : 0) : nodes;
        }

        @Override
        public String name() {
            return "slow";
        }

        @Override
        public String device() {
            return "test";
        }

        @Override
        public int vocabSize() {
            return 500;
        }

        @Override
        public int maxContext() {
            return 2048;
        }

        @Override
        public int[] eosTokenIds() {
            return new int[] {0};
        }

        @Override
        public ModelSession newSession(int maxTokens) {
            open = true;
            return new ModelSession() {
                int cached;

                @Override
                public int cachedLength() {
                    return cached;
                }

                @Override
                public void truncate(int length) {
                    cached = length;
                }

                @Override
                public void prefill(int[] tokens, int from, int to) {
                    cached += to - from;
                    assertTrue(cached <= maxTokens, "prefill past the session's " + maxTokens + " tokens");
                }

                @Override
                public TreeLogits forward(DraftTree tree) {
                    assertTrue(cached + tree.size() <= maxTokens, "tree past the session's " + maxTokens + " tokens");
                    passes.add(tree.size());
                    LockSupport.parkNanos(2_000_000L + 500_000L * paddedNodes(tree.size()));
                    return new TreeLogits() {
                        @Override
                        public int argmax(int node) {
                            return 0;
                        }

                        @Override
                        public void logits(int node, float[] out) {}
                    };
                }

                @Override
                public void commit(int[] path, int count) {
                    assertEquals(0, count, "measuring keeps nothing in the cache");
                }

                @Override
                public void close() {
                    open = false;
                }
            };
        }

        @Override
        public void close() {}
    }

    @Test
    void measuresTheCurveOnceAndOnlyTheSizesStillMissing() {
        SlowModel model = new SlowModel(false);
        VerifierCostModel cost = VerifierCostModel.of(model);
        assertSame(cost, VerifierCostModel.of(model), "one cost model per model instance");
        assertThrows(IllegalStateException.class, () -> cost.nanos(1, 10));
        cost.ensureMeasured(model, 65, new ReentrantLock());
        assertFalse(model.open, "the measuring session is closed");
        assertTrue(model.passes.containsAll(List.of(1, 2, 4, 8, 16, 32, 65)), "sizes " + model.passes);
        assertFalse(model.passes.contains(64), "no power of two just under the largest size");
        // Sleeping only ever runs long, and the faster of two passes counts: 2.5 ms against 34.5 ms.
        double one = cost.nanos(1, 8);
        double large = cost.nanos(65, 8);
        assertTrue(one >= 2.5e6 && large > 3 * one, "1 node " + one + " ns, 65 nodes " + large + " ns");
        double mid = cost.nanos(40, 8);
        assertTrue(mid > cost.nanos(32, 8) && mid < large, "interpolated between the measured sizes");
        int before = model.passes.size();
        cost.ensureMeasured(model, 65, new ReentrantLock());
        assertEquals(before, model.passes.size(), "measured already");
        cost.ensureMeasured(model, 129, new ReentrantLock());
        assertTrue(model.passes.subList(before, model.passes.size()).contains(129));
        assertFalse(model.passes.subList(before, model.passes.size()).contains(16), "only the new sizes");
        // Shared passes of more nodes than one tree may hold are priced, not timed: no chain past 256 nodes.
        cost.ensureMeasured(model, 1024, new ReentrantLock());
        assertEquals(256, model.passes.stream().mapToInt(Integer::intValue).max().getAsInt(), "sizes " + model.passes);
        assertTrue(cost.covers(1024), "covered as far as it can be timed");
        assertTrue(cost.nanos(1024, 8) > cost.nanos(256, 8), "priced along the largest sizes");
    }

    @Test
    void aModelThatPadsPricesEveryTreeAtItsPaddedSize() {
        SlowModel model = new SlowModel(true);
        VerifierCostModel cost = VerifierCostModel.of(model);
        cost.ensureMeasured(model, 64, new ReentrantLock());
        assertEquals(cost.nanos(32, 8), cost.nanos(17, 8), "17 nodes replay the graph of 32");
        assertEquals(cost.nanos(64, 8), cost.nanos(33, 8));
        assertTrue(cost.nanos(17, 8) > cost.nanos(16, 8));
    }

    @Test
    void fewerNodesAreNeverPricedAboveMore() {
        // Timings only run long: a first timing of 1 node at 18 ms beside 8 nodes at 15 ms says 1 node costs 15 at most.
        VerifierCostModel cost = VerifierCostModel.measured(new int[] {1, 2, 4, 8},
                new double[] {18e6, 24e6, 19e6, 15e6});
        double[] curve = new double[9];
        cost.curve(8, curve);
        for (int k = 2; k <= 8; k++) {
            assertTrue(curve[k] >= curve[k - 1], "k=" + k + ": " + java.util.Arrays.toString(curve));
        }
        assertEquals(15e6, curve[1], 1.0);
        assertEquals(15e6, cost.nanos(8, 8), 1.0);
        VerifierCostModel monotone = VerifierCostModel.measured(new int[] {1, 16, 64}, new double[] {10e6, 20e6, 40e6});
        assertEquals(15e6, monotone.nanos(8, 8), 0.5e6, "a monotone curve is left as measured");
    }

    /** Single trees timed at 8 ms and 20 µs a node, from 1 to 1,024 nodes. */
    private static VerifierCostModel eightMsAndTwentyMicrosANode() {
        int[] sizes = {1, 64, 256, 1024};
        double[] nanos = new double[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            nanos[i] = 8e6 + 20e3 * sizes[i];
        }
        return VerifierCostModel.measured(sizes, nanos);
    }

    @Test
    void aTreeSharingAPassPaysItsShareAndWhatItsOwnNodesAdd() {
        // A pass costs 8 ms and 20 µs a node: a tree among 16 pays 8 / 16 ms, and 20 µs for each of its nodes.
        VerifierCostModel cost = eightMsAndTwentyMicrosANode();
        double[] shared = new double[65];
        cost.sharedCurve(8, 16, 16 * 20, shared);
        for (int k : new int[] {1, 2, 20, 64}) {
            assertEquals(8e6 / 16 + 20e3 * k, shared[k], 1e3, "k=" + k);
        }
        double[] alone = new double[65];
        double[] sharedByOne = new double[65];
        cost.curve(8, alone);
        cost.sharedCurve(8, 1, 20, sharedByOne);
        assertArrayEquals(alone, sharedByOne, "a pass of one tree is the tree alone");
    }

    @Test
    void batchedPassesTeachWhatANodeCostsInThem() {
        // Single trees: 8 ms and 20 µs a node. Batched passes of 16 trees and 320 nodes take 8.02 ms and 60 µs for
        // each node past the first, three times the single trees' rate, as a 7B-shape batch's attention makes them.
        VerifierCostModel cost = eightMsAndTwentyMicrosANode();
        long pass = (long) (8.02e6 + 60e3 * 319);
        cost.observeShared(1, 320, 8, pass * 100);
        assertEquals(1.0, cost.sharedSlope(), 1e-12, "a pass of one tree teaches the single prices, not these");
        for (int i = 0; i < 16 * 200; i++) {
            cost.observeShared(16, 320, 8, pass);
        }
        assertEquals(3.0, cost.sharedSlope(), 0.01);
        double[] shared = new double[65];
        cost.sharedCurve(8, 16, 320, shared);
        assertEquals(60e3, shared[21] - shared[20], 1e3, "a node of a shared tree at the batched rate");
        assertEquals(pass / 16.0, shared[20], 2e4, "a tree of the mean size pays its share of the pass");
        double[] alone = new double[65];
        cost.curve(8, alone);
        assertEquals(20e3, alone[21] - alone[20], 1e-3, "a tree alone keeps the single prices");
        for (int i = 0; i < 16 * 400; i++) {
            cost.observeShared(16, 320, 8, pass * 1000);
        }
        assertEquals(16.0, cost.sharedSlope(), 0.1, "held within 16 however slow the passes");
    }

    @Test
    void liveStepsMoveTheSizesTheyLieBetween() {
        VerifierCostModel cost = VerifierCostModel.measured(new int[] {1, 16, 64}, new double[] {10e6, 20e6, 40e6});
        double[] curve = new double[65];
        cost.curve(100, curve);
        assertEquals(15e6, curve[8], 1e6);
        for (int i = 0; i < 300; i++) {
            cost.observe(64, 100, 120_000_000L);
        }
        assertEquals(120e6, cost.nanos(64, 100), 6e6, "followed a device three times slower at 64 nodes");
        assertEquals(10e6, cost.nanos(1, 100), 1e-3, "1 node untouched");
        cost.observe(1, 100, 10_000_000_000L);
        assertTrue(cost.nanos(1, 100) < 11e6, "one step's surprise is capped: " + cost.nanos(1, 100));
    }
}
