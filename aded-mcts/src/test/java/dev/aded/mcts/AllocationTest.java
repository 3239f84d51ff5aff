package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import com.sun.management.ThreadMXBean;
import dev.aded.datastore.Datastore;
import dev.aded.datastore.NgramCounts;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Drafting and feedback reuse their buffers: after warm-up, a long run of steps allocates nothing measurable. */
class AllocationTest {
    private static final Path SHIPPED = Path.of(System.getProperty("aded.root", ".."))
            .resolve("aded-examples/models/code-15m/default.aded");

    @Test
    void steadyStateAllocatesNothing() {
        // Count adaptation is off: the map-backed test counts allocate when they learn a new context.
        DrafterOptions options = DrafterOptions.defaults().withAdaptCounts(false);
        MapCounts counts = MapCounts.random(4, 40, 6);
        assertNoAllocation(counts, 40, options);
        try (Datastore datastore = Datastore.open(SHIPPED)) {
            // Real contexts would be friendlier; random ones still hit the bigram back-off and unseen tri-grams.
            assertNoAllocation(datastore, 300, options);
        }
    }

    private static void assertNoAllocation(NgramCounts counts, int vocab, DrafterOptions options) {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Drafter drafter : new Drafter[] {new MctsDrafter(counts, options), new BestFirstDrafter(counts, options)}) {
            int[] context = new int[1 << 16];
            DraftTree tree = new DraftTree(65);
            Random r = new Random(2);
            for (int i = 0; i < context.length; i++) {
                context[i] = r.nextInt(vocab);
            }
            steps(drafter, context, tree, 2, 2000);
            long tid = Thread.currentThread().getId();
            long before = threads.getThreadAllocatedBytes(tid);
            steps(drafter, context, tree, 2002, 4000);
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            assertTrue(allocated < 4096, drafter.getClass().getSimpleName() + " over " + counts.getClass().getSimpleName()
                    + " allocated " + allocated + " bytes in 2000 steps");
        }
    }

    private static void steps(Drafter drafter, int[] context, DraftTree tree, int from, int to) {
        for (int length = from; length < to; length++) {
            tree.reset(context[length - 1]);
            drafter.draft(context, length, 16 << (length % 3), 8, tree);
            drafter.onAccepted(context, length + 1, 1, 0);
        }
    }
}
