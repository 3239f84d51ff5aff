package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DeterminismTest {

    @Test
    void sameSeedSameTreesOverAGenerationWithFeedback() {
        MapCounts counts = MapCounts.random(21, 40, 6);
        DrafterOptions options = DrafterOptions.defaults().withAdaptCounts(false).withSeed(42);
        assertEquals(run(new MctsDrafter(counts, options)), run(new MctsDrafter(counts, options)));
        assertEquals(run(new BestFirstDrafter(counts, options)), run(new BestFirstDrafter(counts, options)));
    }

    @Test
    void sameSeedSameTreesWhileBothLearnIntoTheirOwnCounts() {
        DrafterOptions options = DrafterOptions.defaults().withSeed(9);
        String first = run(new MctsDrafter(MapCounts.random(3, 40, 6), options));
        String second = run(new MctsDrafter(MapCounts.random(3, 40, 6), options));
        assertEquals(first, second);
    }

    /** Thread-confined drafters over one shared set of counts draft what a lone drafter drafts. */
    @Test
    void concurrentDraftersOverSharedCountsAgree() throws Exception {
        MapCounts counts = MapCounts.random(8, 40, 6);
        DrafterOptions options = DrafterOptions.defaults().withAdaptCounts(false);
        String alone = run(new MctsDrafter(counts, options));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> runs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                runs.add(pool.submit(() -> run(new MctsDrafter(counts, options))));
            }
            for (Future<String> f : runs) {
                assertEquals(alone, f.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    /**
     * Drafts 100 steps of a pseudo-generation in which the "model" takes the first drafted child once, then its own
     * token, and returns every tree as text, so that two runs can be compared node for node.
     */
    private static String run(Drafter drafter) {
        Random r = new Random(1);
        int[] context = new int[2048];
        int length = 2;
        context[0] = 1;
        context[1] = 2;
        DraftTree tree = new DraftTree(33);
        StringBuilder out = new StringBuilder();
        for (int step = 0; step < 100; step++) {
            tree.reset(context[length - 1]);
            drafter.draft(context, length, 32, 8, tree);
            for (int i = 0; i < tree.size(); i++) {
                out.append(tree.token(i)).append('<').append(tree.parent(i)).append(' ');
            }
            out.append('\n');
            int accepted = 0;
            int child = tree.firstChild(0);
            if (child >= 0) {
                context[length++] = tree.token(child);
                accepted = 1;
            }
            context[length++] = r.nextInt(40);
            drafter.onAccepted(context, length, accepted + 1, accepted);
        }
        return out.toString();
    }
}
