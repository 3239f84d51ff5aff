package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Reference tree builders and checks, computed independently of the drafters from the exact counts. */
final class Trees {
    private Trees() {}

    /**
     * The expected number of accepted tokens when {@code truth} is exactly how the model picks: the sum over nodes of
     * the probability of their whole path.
     */
    static double expectedAccepted(DraftTree tree, int prevToken, MapCounts truth) {
        double[] path = new double[tree.size()];
        path[0] = 1.0;
        double sum = 0;
        for (int i = 1; i < tree.size(); i++) {
            int p = tree.parent(i);
            int a = p == 0 ? prevToken : tree.token(tree.parent(p));
            path[i] = path[p] * truth.prob(a, tree.token(p), tree.token(i));
            sum += path[i];
        }
        return sum;
    }

    /** Fails unless parents precede children, budget and depth hold and no parent has two equal child tokens. */
    static void assertValid(DraftTree tree, int budget, int maxDepth) {
        assertTrue(tree.size() - 1 <= budget, "size " + tree.size() + " over budget " + budget);
        assertTrue(tree.maxDepth() <= maxDepth, "depth " + tree.maxDepth() + " over " + maxDepth);
        for (int i = 1; i < tree.size(); i++) {
            assertTrue(tree.parent(i) >= 0 && tree.parent(i) < i, "node " + i + " before its parent");
            assertEquals(tree.depth(tree.parent(i)) + 1, tree.depth(i));
            assertTrue(tree.prob(i) > 0 && tree.prob(i) <= 1, "probability of node " + i);
        }
        for (int i = 0; i < tree.size(); i++) {
            IntOpenHashSet seen = new IntOpenHashSet();
            for (int c = tree.firstChild(i); c >= 0; c = tree.nextSibling(c)) {
                assertTrue(seen.add(tree.token(c)), "duplicate child token under node " + i);
            }
        }
    }

    /** Follows the most likely continuation for {@code budget} nodes. */
    static DraftTree greedyChain(MapCounts truth, int prevToken, int root, int budget, int maxDepth) {
        DraftTree tree = new DraftTree(budget + 1);
        tree.reset(root);
        int node = 0;
        int a = prevToken;
        while (tree.size() - 1 < budget && tree.depth(node) < maxDepth) {
            int[][] next = truth.continuations(a, tree.token(node));
            if (next[0].length == 0) {
                break;
            }
            float prob = (float) truth.prob(a, tree.token(node), next[0][0]);
            a = tree.token(node);
            node = tree.add(node, next[0][0], prob);
        }
        return tree;
    }

    /** Beam search: each level keeps the {@code width} most likely paths, until the budget is spent. */
    static DraftTree beam(MapCounts truth, int prevToken, int root, int width, int budget, int maxDepth) {
        DraftTree tree = new DraftTree(budget + 1);
        tree.reset(root);
        List<double[]> level = List.of(new double[] {0, 1.0});
        for (int depth = 0; depth < maxDepth && tree.size() - 1 < budget && !level.isEmpty(); depth++) {
            List<double[]> candidates = new ArrayList<>();
            for (double[] beamNode : level) {
                int node = (int) beamNode[0];
                int a = node == 0 ? prevToken : tree.token(tree.parent(node));
                int[][] next = truth.continuations(a, tree.token(node));
                long total = 0;
                for (int c : next[1]) {
                    total += c;
                }
                for (int i = 0; i < next[0].length; i++) {
                    candidates.add(new double[] {node, beamNode[1] * next[1][i] / total, next[0][i]});
                }
            }
            candidates.sort(Comparator.comparingDouble((double[] c) -> -c[1]));
            List<double[]> nextLevel = new ArrayList<>();
            for (double[] c : candidates) {
                if (nextLevel.size() == width || tree.size() - 1 == budget) {
                    break;
                }
                int node = tree.add((int) c[0], (int) c[2], (float) c[1]);
                nextLevel.add(new double[] {node, c[1]});
            }
            level = nextLevel;
        }
        return tree;
    }
}
