package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DraftTreeValidityTest {

    static Stream<Arguments> drafters() {
        BiFunction<MapCounts, DrafterOptions, Drafter> mcts = MctsDrafter::new;
        BiFunction<MapCounts, DrafterOptions, Drafter> bestFirst = BestFirstDrafter::new;
        return Stream.of(Arguments.of("mcts", mcts), Arguments.of("best-first", bestFirst));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("drafters")
    void treesRespectBudgetDepthOrderAndSiblings(String name, BiFunction<MapCounts, DrafterOptions, Drafter> make) {
        MapCounts counts = MapCounts.random(7, 40, 6);
        Drafter drafter = make.apply(counts, DrafterOptions.defaults().withAdaptCounts(false));
        Random r = new Random(11);
        DraftTree tree = new DraftTree(129);
        int[] context = new int[64];
        int[] budgets = {1, 4, 16, 64, 128};
        int[] depths = {1, 2, 5, 12};
        for (int trial = 0; trial < 200; trial++) {
            int length = 1 + r.nextInt(context.length);
            for (int i = 0; i < length; i++) {
                context[i] = r.nextInt(40);
            }
            int budget = budgets[trial % budgets.length];
            int depth = depths[(trial / budgets.length) % depths.length];
            tree.reset(context[length - 1]);
            drafter.draft(context, length, budget, depth, tree);
            Trees.assertValid(tree, budget, depth);
            // Every context has continuations in these counts, so the drafter must use the budget it can.
            assertTrue(tree.size() > 1, name + " drafted nothing");
            assertEveryTokenIsAContinuation(tree, length >= 2 ? context[length - 2] : -1, counts);
            drafter.onAccepted(context, length, 1, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("drafters")
    void aTreeSmallerThanTheBudgetCapsTheDraft(String name, BiFunction<MapCounts, DrafterOptions, Drafter> make) {
        MapCounts counts = MapCounts.random(3, 30, 6);
        Drafter drafter = make.apply(counts, DrafterOptions.defaults());
        DraftTree tree = new DraftTree(9);
        int[] context = {1, 2, 3};
        tree.reset(3);
        drafter.draft(context, 3, 64, 8, tree);
        assertEquals(9, tree.size(), name);
        Trees.assertValid(tree, 8, 8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("drafters")
    void unknownContextGivesARootOnlyTree(String name, BiFunction<MapCounts, DrafterOptions, Drafter> make) {
        MapCounts counts = new MapCounts(10).bigram(1, 2, 5);
        Drafter drafter = make.apply(counts, DrafterOptions.defaults());
        DraftTree tree = new DraftTree(33);
        tree.reset(7);
        drafter.draft(new int[] {7}, 1, 32, 8, tree);
        assertEquals(1, tree.size(), name);
    }

    private static void assertEveryTokenIsAContinuation(DraftTree tree, int prevToken, MapCounts counts) {
        for (int i = 1; i < tree.size(); i++) {
            int p = tree.parent(i);
            int a = p == 0 ? prevToken : tree.token(tree.parent(p));
            assertTrue(counts.prob(a, tree.token(p), tree.token(i)) > 0, "node " + i + " is no continuation");
        }
    }
}
