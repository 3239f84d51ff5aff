package dev.aded.mcts;

import dev.aded.core.AcceptanceCalibration;
import dev.aded.core.DraftTree;
import java.util.Arrays;

/**
 * The candidate nodes a drafter considers in one step, larger than the draft it finally emits. A node's children
 * are created together when it is expanded, so they sit in one contiguous index range after it, and every index is
 * greater than its parent's: emitting selected nodes in index order puts parents before children.
 *
 * <p>Per node it keeps the draft probability of its token given its parent's path ({@code prob}), the estimate
 * of that token being accepted ({@code accept}, the same number unless calibration is on) and the path value,
 * the product of {@code accept} from the root: the probability that verification accepts the whole path. The MCTS
 * statistics live here too (best-first leaves them untouched): visits, and the frontier value, the highest path
 * value among the candidates below a node (itself included) that could still be expanded, or {@link #NONE}.
 * Arrays grow only when a step needs more nodes than any step before, so the steady state does not allocate.
 */
final class SearchTree {
    /** The frontier value of a node below which nothing can be expanded any more. */
    static final double NONE = -1.0;

    private int[] tokens;
    private int[] parents;
    private int[] depths;
    private int[] firstChild;
    private int[] childCount;
    private double[] probs;
    private double[] accepts;
    private double[] values;
    private int[] visits;
    private double[] frontier;
    private boolean[] expanded;
    private boolean[] selected;
    private int[] emitted;
    private int size;
    private int prevToken;

    SearchTree(int initialCapacity) {
        allocate(Math.max(initialCapacity, 1));
        // A childless root until the first step, so that feedback arriving before any draft walks nothing.
        reset(-1, -1, 1);
    }

    private void allocate(int capacity) {
        tokens = new int[capacity];
        parents = new int[capacity];
        depths = new int[capacity];
        firstChild = new int[capacity];
        childCount = new int[capacity];
        probs = new double[capacity];
        accepts = new double[capacity];
        values = new double[capacity];
        visits = new int[capacity];
        frontier = new double[capacity];
        expanded = new boolean[capacity];
        selected = new boolean[capacity];
        emitted = new int[capacity];
    }

    /**
     * Starts a step: returns the nodes the drafter may choose (the budget, within the tree's room) and roots the
     * search at the context's last token, sized for that many nodes of up to {@code distribution.childLimit(nodes)}
     * candidates each. With no room or no depth the search is left empty, so learning sees no selection, and 0 is
     * returned.
     */
    int begin(int[] context, int length, int budget, int maxDepth, DraftTree tree, DraftDistribution distribution) {
        int nodes = Math.min(budget, tree.capacity() - tree.size());
        if (nodes <= 0 || maxDepth <= 0) {
            reset(context[length - 1], -1, 1);
            return 0;
        }
        int capacity = 1 + nodes * distribution.childLimit(nodes);
        reset(context[length - 1], length >= 2 ? context[length - 2] : -1, capacity);
        return nodes;
    }

    /**
     * Empties the tree for a step that may create up to {@code capacity} nodes; the root carries the context's last
     * token and {@code prevToken} (or -1) is the one before it, the first half of the root's tri-gram context.
     */
    void reset(int rootToken, int prevToken, int capacity) {
        if (capacity > tokens.length) {
            allocate(Math.max(capacity, tokens.length + (tokens.length >> 1)));
        }
        this.prevToken = prevToken;
        size = 0;
        int root = newNode(-1, rootToken, 1.0, 1.0);
        depths[root] = 0;
        values[root] = 1.0;
    }

    private int newNode(int parent, int token, double prob, double accept) {
        int node = size++;
        tokens[node] = token;
        parents[node] = parent;
        probs[node] = prob;
        accepts[node] = accept;
        firstChild[node] = -1;
        childCount[node] = 0;
        visits[node] = 0;
        frontier[node] = 1.0;
        expanded[node] = false;
        selected[node] = false;
        return node;
    }

    /** Starts {@code node}'s block of children; call {@link #addChild} for each, then nothing else in between. */
    void beginChildren(int node) {
        firstChild[node] = size;
        childCount[node] = 0;
        expanded[node] = true;
    }

    /** Adds the next child of the node whose block is open; {@code terminal} children are never expanded. */
    int addChild(int parent, int token, double prob, double accept, boolean terminal) {
        int child = newNode(parent, token, prob, accept);
        depths[child] = depths[parent] + 1;
        values[child] = values[parent] * accept;
        frontier[child] = terminal ? NONE : values[child];
        childCount[parent]++;
        return child;
    }

    /** The token before {@code node} along its path: its parent's token, or for the root the context's one. */
    int contextToken(int node) {
        return node == 0 ? prevToken : tokens[parents[node]];
    }

    int size() {
        return size;
    }

    int token(int node) {
        return tokens[node];
    }

    int parent(int node) {
        return parents[node];
    }

    int depth(int node) {
        return depths[node];
    }

    int firstChild(int node) {
        return firstChild[node];
    }

    int childCount(int node) {
        return childCount[node];
    }

    double prob(int node) {
        return probs[node];
    }

    double accept(int node) {
        return accepts[node];
    }

    double value(int node) {
        return values[node];
    }

    /** The path values of all nodes, for ranking in a {@link NodeHeap}; valid up to {@link #size()}. */
    double[] values() {
        return values;
    }

    int visits(int node) {
        return visits[node];
    }

    void addVisit(int node) {
        visits[node]++;
    }

    boolean isExpanded(int node) {
        return expanded[node];
    }

    double frontier(int node) {
        return frontier[node];
    }

    /** True when nothing below the node, nor the node itself, can be expanded. */
    boolean isExhausted(int node) {
        return frontier[node] < 0;
    }

    /** Sets an expanded node's frontier value to the best of its children's, or {@link #NONE}. */
    void updateFrontier(int node) {
        double best = NONE;
        int end = firstChild[node] + childCount[node];
        for (int c = firstChild[node]; c < end; c++) {
            best = Math.max(best, frontier[c]);
        }
        frontier[node] = best;
    }

    void select(int node) {
        selected[node] = true;
    }

    boolean isSelected(int node) {
        return selected[node];
    }

    /**
     * Teaches {@code calibration} the outcome of the last draft: walks the selected nodes along the accepted tokens
     * starting at {@code context[from]}; at every node verification reached, each selected child is a hit when it
     * is the accepted one and a miss otherwise. Below the last accepted node every selected child was rejected.
     * Clears the selection, so that the same draft is never learnt from twice.
     */
    void teach(AcceptanceCalibration calibration, int[] context, int from, int acceptedDraftTokens) {
        int node = 0;
        for (int step = 0; step <= acceptedDraftTokens && node >= 0; step++) {
            int taken = step < acceptedDraftTokens ? context[from + step] : -1;
            int next = -1;
            int end = firstChild[node] + childCount[node];
            for (int c = firstChild[node]; c < end; c++) {
                if (selected[c]) {
                    boolean hit = tokens[c] == taken;
                    calibration.observe(probs[c], hit);
                    if (hit) {
                        next = c;
                    }
                }
            }
            node = next;
        }
        clearSelection();
    }

    /** Forgets the selection, so that feedback about a step that drafted nothing walks nothing. */
    void clearSelection() {
        Arrays.fill(selected, 0, size, false);
    }

    /**
     * Adds the selected nodes to {@code tree}, whose root stands for node 0, in index order (parents first) and
     * with their draft probabilities.
     */
    void emit(DraftTree tree) {
        emitted[0] = 0;
        for (int node = 1; node < size; node++) {
            if (selected[node]) {
                emitted[node] = tree.add(emitted[parents[node]], tokens[node], (float) probs[node]);
            }
        }
    }
}
