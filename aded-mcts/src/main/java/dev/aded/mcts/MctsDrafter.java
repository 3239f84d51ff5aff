package dev.aded.mcts;

import dev.aded.core.AcceptanceCalibration;
import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import dev.aded.core.GenerationConfig;
import dev.aded.datastore.AdaptiveNgramCounts;
import dev.aded.datastore.NgramCounts;

/**
 * ADED's drafter: Monte Carlo tree search over the tri-gram draft distribution, then the budget's worth of nodes
 * that maximise the expected number of accepted tokens. {@code docs/drafter.md} explains the rule and its constants.
 *
 * <p>One simulation descends from the root by PUCT, expands the leaf it reaches (one counts lookup creates all of
 * the leaf's continuations as candidates), evaluates each new candidate as the probability that verification accepts
 * its whole path, and backs the best of them up. After {@code budget} expansions the drafter keeps the
 * {@code budget} candidates of highest path value: the expected accepted length of a tree is the sum of its nodes'
 * path values, and since a path value never exceeds its parent's, those nodes form a connected tree.
 *
 * <p>Thread-confined; buffers are reused, so steps whose budget does not exceed the largest one so far allocate
 * nothing.
 */
public final class MctsDrafter implements Drafter {
    private final DrafterOptions options;
    private final DraftDistribution distribution;
    private final AdaptiveNgramCounts learner;
    private final AcceptanceCalibration calibration = new AcceptanceCalibration();
    private final SearchTree search;
    private final NodeHeap heap;
    private int[] path;
    private long rng;
    private int maxDepth;
    private int children;

    public MctsDrafter(NgramCounts counts, DrafterOptions options) {
        this.options = options;
        this.distribution = new DraftDistribution(counts, options);
        this.learner = options.adaptCounts() && counts instanceof AdaptiveNgramCounts a ? a : null;
        // Sized for the default tree budget, so that a loop using it never makes the buffers grow.
        int budget = GenerationConfig.DEFAULT_TREE_BUDGET;
        int nodes = 1 + budget * distribution.childLimit(budget);
        this.search = new SearchTree(nodes);
        this.heap = new NodeHeap(nodes);
        this.path = new int[1];
        this.rng = options.seed();
    }

    @Override
    public void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree) {
        int nodes = search.begin(context, length, budget, maxDepth, tree, distribution);
        if (nodes == 0) {
            return;
        }
        children = distribution.childLimit(nodes);
        this.maxDepth = maxDepth;
        if (path.length < maxDepth + 1) {
            path = new int[maxDepth + 1];
        }
        for (int expansions = 0; expansions < nodes && !search.isExhausted(0); expansions++) {
            simulate();
        }
        selectBest(nodes);
        search.emit(tree);
    }

    /**
     * One MCTS iteration: selection down to an unexpanded node, its expansion, whose evaluation is the path value
     * of each new candidate (the probability verification accepts it), and backup of the best of them as the frontier
     * value of every node on the way.
     */
    private void simulate() {
        int depth = 0;
        int node = 0;
        path[0] = 0;
        while (search.isExpanded(node)) {
            node = bestChild(node);
            path[++depth] = node;
        }
        expand(node);
        for (int i = depth; i >= 0; i--) {
            search.addVisit(path[i]);
            search.updateFrontier(path[i]);
        }
    }

    /**
     * PUCT: {@code Q + c * P * sqrt(N_parent) / (1 + N_child)}. Q is the child's frontier value relative to the
     * parent's path value: the chance of accepting the best path still open below the child once the parent is
     * accepted, in [0, 1] at any depth. For an unexpanded child that is its own acceptance estimate. P is that
     * estimate too. The backup keeps the best rather than the mean because drafting has no noise to average out: a
     * path's value is known exactly, and with c = 0 the search expands exactly the nodes best-first would. Exhausted
     * children cannot lead to an expansion and are skipped; a tiny seeded jitter breaks exact ties.
     */
    private int bestChild(int node) {
        double parentValue = search.value(node);
        double explore = options.exploration() * Math.sqrt(search.visits(node));
        int best = -1;
        double bestScore = Double.NEGATIVE_INFINITY;
        int end = search.firstChild(node) + search.childCount(node);
        for (int c = search.firstChild(node); c < end; c++) {
            if (search.isExhausted(c)) {
                continue;
            }
            double prior = search.accept(c);
            double score = search.frontier(c) / parentValue + explore * prior / (1 + search.visits(c))
                    + 1e-12 * nextUniform();
            if (score > bestScore) {
                bestScore = score;
                best = c;
            }
        }
        return best;
    }

    /** Creates all continuations of {@code node} as children; those at the depth limit are terminal. */
    private void expand(int node) {
        int n = distribution.lookup(search.contextToken(node), search.token(node), children);
        boolean terminal = search.depth(node) + 1 >= maxDepth;
        search.beginChildren(node);
        for (int i = 0; i < n; i++) {
            double q = distribution.prob(i);
            double accept = options.adaptPolicy() ? calibration.accept(q) : q;
            search.addChild(node, distribution.token(i), q, accept, terminal);
        }
    }

    /** Marks the {@code nodes} candidates of highest path value (a connected tree, see {@link NodeHeap}). */
    private void selectBest(int nodes) {
        heap.clear(search.values());
        for (int c = 1; c < search.size(); c++) {
            heap.push(c);
        }
        for (int i = 0; i < nodes && !heap.isEmpty(); i++) {
            search.select(heap.pop());
        }
    }

    /** SplitMix64: a full-period generator with no allocation, seeded from the options. */
    private double nextUniform() {
        long z = (rng += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }

    @Override
    public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {
        if (learner != null) {
            learner.observe(context, length - newTokens, length);
        }
        if (options.adaptPolicy()) {
            search.teach(calibration, context, length - newTokens, acceptedDraftTokens);
        }
    }

    /** The calibration's correction factor for draft probability {@code q} (1 while adaptation is off or unused). */
    double calibrationRatio(double q) {
        return calibration.ratio(q);
    }
}
