package dev.aded.mcts;

import dev.aded.core.AcceptanceCalibration;
import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import dev.aded.core.GenerationConfig;
import dev.aded.datastore.AdaptiveNgramCounts;
import dev.aded.datastore.NgramCounts;

/**
 * Grows the draft tree best-first by path probability: a priority queue holds the candidates, the most probable path
 * joins the tree and only then are its continuations looked up and queued. When the acceptance estimates are the
 * true acceptance probabilities this is optimal, since the expected accepted length is the sum of the chosen paths'
 * probabilities and no unchosen candidate beats a chosen one. With {@link DrafterOptions#adaptPolicy()} the path
 * probabilities use the same {@link AcceptanceCalibration} as {@link MctsDrafter}.
 *
 * <p>Same interface and options as {@link MctsDrafter} (exploration and seed do not apply).
 * Thread-confined; buffers are reused, so the steady state allocates nothing.
 */
public final class BestFirstDrafter implements Drafter {
    private final DraftDistribution distribution;
    private final AdaptiveNgramCounts learner;
    private final SearchTree search;
    private final NodeHeap heap;
    private final AcceptanceCalibration calibration;
    private int children;

    public BestFirstDrafter(NgramCounts counts, DrafterOptions options) {
        this.distribution = new DraftDistribution(counts, options);
        this.learner = options.adaptCounts() && counts instanceof AdaptiveNgramCounts a ? a : null;
        // Sized for the default tree budget, so that a loop using it never makes the buffers grow.
        int budget = GenerationConfig.DEFAULT_TREE_BUDGET;
        int nodes = 1 + budget * distribution.childLimit(budget);
        this.search = new SearchTree(nodes);
        this.heap = new NodeHeap(nodes);
        this.calibration = options.adaptPolicy() ? new AcceptanceCalibration() : null;
    }

    @Override
    public void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree) {
        int nodes = search.begin(context, length, budget, maxDepth, tree, distribution);
        if (nodes == 0) {
            return;
        }
        children = distribution.childLimit(nodes);
        heap.clear(search.values());
        expand(0);
        for (int chosen = 0; chosen < nodes && !heap.isEmpty(); ) {
            int node = heap.pop();
            search.select(node);
            chosen++;
            if (chosen < nodes && search.depth(node) < maxDepth) {
                expand(node);
            }
        }
        search.emit(tree);
    }

    /** Looks up the continuations of {@code node} and queues them. */
    private void expand(int node) {
        int n = distribution.lookup(search.contextToken(node), search.token(node), children);
        search.beginChildren(node);
        for (int i = 0; i < n; i++) {
            double q = distribution.prob(i);
            double accept = calibration != null ? calibration.accept(q) : q;
            heap.push(search.addChild(node, distribution.token(i), q, accept, false));
        }
    }

    @Override
    public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {
        if (learner != null) {
            learner.observe(context, length - newTokens, length);
        }
        if (calibration != null) {
            search.teach(calibration, context, length - newTokens, acceptedDraftTokens);
        }
    }
}
