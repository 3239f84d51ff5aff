package dev.aded.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import org.junit.jupiter.api.Test;

/**
 * Thousands of decoding steps must not grow native memory: every step's tensors are freed by the next step, and a
 * closed session frees its cache. Measured both ways {@link NativeMemory} offers.
 */
class NativeMemoryTest {

    @Test
    void residentMemoryStaysFlatOverThousandsOfTokens() {
        try (LlamaModel model = LlamaModel.load(TreeForwardTest.MODEL, Device.cpu())) {
            int[] tokens = new int[1800];
            tokens[0] = 1;
            decode(model, tokens, 300); // warm-up: allocator pools and JIT reach their working size
            int arraysBefore = NativeMemory.liveTensors(model);
            long before = NativeMemory.residentKb();
            int total = 0;
            for (int round = 0; round < 3; round++) {
                total += decode(model, tokens, 800);
            }
            long after = NativeMemory.residentKb();
            assertTrue(total >= 2400, "decoded " + total);
            assertEquals(arraysBefore, NativeMemory.liveTensors(model), "tensors left behind");
            assertTrue(after - before < 32 * 1024, "native memory grew by " + (after - before) + " kB over "
                    + total + " tokens");
        }
    }

    @Test
    void aLongSessionHoldsNoMoreTensorsThanAShortOne() {
        try (LlamaModel model = LlamaModel.load(TreeForwardTest.MODEL, Device.cpu());
                ModelSession s = model.newSession(700)) {
            DraftTree tree = new DraftTree(3);
            int[] counts = new int[2];
            int last = 1;
            for (int step = 0; step < 300; step++) {
                tree.reset(last);
                tree.add(0, 10, 0.5f);
                tree.add(0, 11, 0.5f);
                last = s.forward(tree).argmax(0);
                // Keep the second sibling's row on odd steps, so that compaction copies rows as well.
                s.commit(step % 2 == 0 ? new int[] {0} : new int[] {0, 2}, step % 2 == 0 ? 1 : 2);
                if (step == 49 || step == 299) {
                    counts[step == 49 ? 0 : 1] = NativeMemory.liveTensors(model);
                }
            }
            assertEquals(counts[0], counts[1], "tensors held after 50 and after 300 steps of one session");
        }
    }

    /** Greedy decoding of {@code steps} tokens with tree-shaped steps (a chain plus a sibling), as the loop does. */
    private static int decode(LlamaModel model, int[] tokens, int steps) {
        DraftTree tree = new DraftTree(3);
        int len = 1;
        try (ModelSession s = model.newSession(steps + 4)) {
            for (int i = 0; i < steps; i++) {
                tree.reset(tokens[len - 1]);
                tree.add(0, 10, 0.5f);
                tree.add(0, 11, 0.5f);
                TreeLogits out = s.forward(tree);
                int next = out.argmax(0);
                s.commit(new int[] {0}, 1);
                tokens[len++ % tokens.length] = next;
                len = Math.min(len, tokens.length - 1);
            }
        }
        return steps;
    }
}
