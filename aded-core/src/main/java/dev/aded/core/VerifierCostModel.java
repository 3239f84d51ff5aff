package dev.aded.core;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.locks.Lock;

/**
 * What one verification step (forward pass, acceptance and commit) costs on one model and device, by the number
 * of tree nodes and the context length: the price list {@link TreeSizer} sizes each tree by.
 *
 * <p>Measured when a model is first used to draft: passes over chains of 1, 2, 4, … nodes up to the largest tree
 * asked for, each the fastest of {@value #ROUNDS}, the sizes taking turns round by round (a shared machine's
 * hiccups make timings run long, never short, and last longer than a pass: timed one size after another, a slow
 * spell once priced 1 node above 4 and 8 nodes at 16, which sized every tree of a run wrongly), at a
 * short context and then, for 1 node and the largest tree, after {@value #LONG_CONTEXT} more cached tokens, which
 * gives the growth per context token (interpolated in between by node count). Sizes up to {@value #FIRST_NODES}
 * are timed at first use, larger ones when a tree first grows past them; one model instance measures each size
 * once.
 *
 * <p>Kept current from live steps: each timed step moves a correction factor of the sizes it lies between
 * towards what it measured (a few percent a step, in log space, a single step's surprise capped at 4×), so that a
 * device that warms up, slows down under other load or behaves differently at long contexts is followed. Thread-safe.
 */
public final class VerifierCostModel {
    private static final Map<TargetModel, VerifierCostModel> MODELS = Collections.synchronizedMap(new WeakHashMap<>());

    /** Tokens cached before the short-context timings: enough for a realistic mask, no more. */
    static final int SHORT_CONTEXT = 8;
    /**
     * Tokens added for the long-context timings: enough to see the growth per token, which is linear; a longer
     * prefill only lengthens the first timing (256 cost a CPU 50 ms more).
     */
    static final int LONG_CONTEXT = 128;
    /**
     * The largest tree size timed at first use. On a CPU the passes over 32 and 64 nodes cost several single-token
     * passes each and took most of the first timing (0.6-0.8 s of code-15m on the development machine) although a
     * CPU step rarely verifies that many; they are timed when a tree first grows past this ({@link #covers}).
     */
    public static final int FIRST_NODES = 16;
    private static final int ROUNDS = 3;
    private static final double LEARNING_RATE = 0.05;
    private static final double MAX_SURPRISE = 4.0;

    /** Measured tree sizes, ascending, starting at 1; {@code base} and {@code correction} run parallel. */
    private int[] sizes = new int[0];
    private double[] base = new double[0];
    private double[] correction = new double[0];
    /** Nanoseconds per cached token at 1 node and at {@link #slopeNodes} nodes. */
    private double slopeOne;
    private double slopeLarge;
    private int slopeNodes = 1;
    /**
     * The most nodes a pass is timed over: one tree's limit ({@link GenerationConfig#MAX_TREE_BUDGET} and its root),
     * or less where the model's context is shorter (set by the first measurement). Shared passes of more nodes are
     * priced along the line through the two largest sizes.
     */
    private int measurable = GenerationConfig.MAX_TREE_BUDGET + 1;
    private long measuringNanos;
    private long firstMeasuringNanos;
    /**
     * For node counts up to the largest measured, the count the model pads a pass to ({@link TargetModel#paddedNodes}):
     * a tree costs what its padded size costs, not a price interpolated below it.
     */
    private int[] padded = new int[0];
    /**
     * How much more a node costs in a pass of several trees than the single-tree prices say: the factor on their part
     * above one node's price ({@link #sharedCurve}), learnt from live batched passes ({@link #observeShared}). Single
     * trees are timed in one sequence's pass, and on a 7B-shape model 12 trees of some 16 nodes took 23.6 ms where
     * those prices put 188 nodes at 10.1 ms (an H100, 2026-12-08): a batch's attention, padding and gathers grow with
     * its trees as one sequence's do not, and the sizer, told 0.01 ms a node, drew trees whose nodes cost 0.07.
     */
    private double sharedSlope = 1.0;

    private VerifierCostModel() {}

    /**
     * A cost model that starts from given timings at the short context, growing by nothing with the context, as if
     * measured: for tests of the decisions made on it, which must not depend on this machine's speed.
     */
    static VerifierCostModel measured(int[] sizes, double[] nanos) {
        VerifierCostModel m = new VerifierCostModel();
        m.merge(sizes, nanos);
        return m;
    }

    /** The cost model of {@code model}, shared by every generator over that model instance; not yet measured. */
    public static VerifierCostModel of(TargetModel model) {
        return MODELS.computeIfAbsent(model, m -> new VerifierCostModel());
    }

    /**
     * Times the tree sizes up to {@code maxNodes} (the root included) not measured yet, holding the model's
     * {@code deviceLock}: this runs forward passes in a session of its own.
     */
    public void ensureMeasured(TargetModel model, int maxNodes, Lock deviceLock) {
        deviceLock.lock();
        try {
            measure(model, maxNodes);
        } finally {
            deviceLock.unlock();
        }
    }

    private synchronized void measure(TargetModel model, int maxNodes) {
        measurable = Math.max(1, Math.min(GenerationConfig.MAX_TREE_BUDGET + 1, model.maxContext() - SHORT_CONTEXT));
        maxNodes = Math.min(maxNodes, measurable);
        if (sizes.length > 0 && sizes[sizes.length - 1] >= maxNodes) {
            return;
        }
        long start = System.nanoTime();
        int[] wanted = newSizes(maxNodes);
        int longContext = Math.min(LONG_CONTEXT, model.maxContext() - maxNodes - SHORT_CONTEXT);
        boolean slopes = sizes.length == 0 && longContext >= SHORT_CONTEXT;
        int capacity = SHORT_CONTEXT + (slopes ? longContext : 0) + maxNodes;
        DraftTree chain = new DraftTree(maxNodes);
        double[] measured = new double[wanted.length];
        try (ModelSession session = model.newSession(capacity)) {
            int[] filler = filler(SHORT_CONTEXT + Math.max(longContext, 0), model.vocabSize());
            session.prefill(filler, 0, SHORT_CONTEXT);
            // No warm-up pass: the slow first pass of each size (new shapes for the allocator and kernels) is the
            // one the fastest of the rounds leaves out; a warm-up cost a CPU 150 ms.
            fastest(session, chain, wanted, measured);
            if (slopes) {
                int[] ends = {1, wanted[wanted.length - 1]};
                double[] atLong = new double[2];
                session.prefill(filler, SHORT_CONTEXT, SHORT_CONTEXT + longContext);
                fastest(session, chain, ends, atLong);
                slopeOne = Math.max(0, (atLong[0] - measured[0]) / longContext);
                slopeNodes = ends[1];
                slopeLarge = Math.max(0, (atLong[1] - measured[wanted.length - 1]) / longContext);
            }
        }
        merge(wanted, measured);
        padded = new int[maxNodes + 1];
        for (int k = 1; k <= maxNodes; k++) {
            padded[k] = Math.min(maxNodes, model.paddedNodes(k));
        }
        long spent = System.nanoTime() - start;
        if (measuringNanos == 0) {
            firstMeasuringNanos = spent;
        }
        measuringNanos += spent;
    }

    /**
     * Sizes to time for trees up to {@code maxNodes}: the powers of two past the largest measured one, below three
     * quarters of {@code maxNodes} (a power just under it adds a pass for nothing), then {@code maxNodes}.
     */
    private int[] newSizes(int maxNodes) {
        int from = sizes.length == 0 ? 1 : Integer.highestOneBit(sizes[sizes.length - 1]) * 2;
        int[] out = new int[32];
        int n = 0;
        for (int p = from; p < maxNodes && 4L * p < 3L * maxNodes; p *= 2) {
            out[n++] = p;
        }
        out[n++] = maxNodes;
        return Arrays.copyOf(out, n);
    }

    private void merge(int[] wanted, double[] measured) {
        int n = sizes.length;
        sizes = Arrays.copyOf(sizes, n + wanted.length);
        base = Arrays.copyOf(base, n + wanted.length);
        correction = Arrays.copyOf(correction, n + wanted.length);
        // New sizes take the correction live steps taught the largest earlier one, so the curve stays continuous.
        double carried = n == 0 ? 1.0 : correction[n - 1];
        for (int i = 0; i < wanted.length; i++) {
            sizes[n + i] = wanted[i];
            base[n + i] = measured[i];
            correction[n + i] = carried;
        }
    }

    private static int[] filler(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) ((i * 7919L + 13) % vocab);
        }
        return ids;
    }

    /** Into {@code out[i]}: the fastest of {@value #ROUNDS} passes over {@code sizes[i]} nodes, sizes taking turns. */
    private static void fastest(ModelSession session, DraftTree chain, int[] sizes, double[] out) {
        Arrays.fill(out, Double.MAX_VALUE);
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < sizes.length; i++) {
                out[i] = Math.min(out[i], time(session, chain, sizes[i]));
            }
        }
    }

    /** One pass over a chain of {@code nodes} nodes, committing nothing. */
    private static double time(ModelSession session, DraftTree chain, int nodes) {
        chain.reset(1);
        for (int i = 1; i < nodes; i++) {
            chain.add(i - 1, 1 + i, 1f);
        }
        long t0 = System.nanoTime();
        session.forward(chain).argmax(0);
        session.commit(new int[] {0}, 0);
        return System.nanoTime() - t0;
    }

    /**
     * Whether {@code nodes} lies within the measured sizes, where prices are interpolated, not extrapolated, or as
     * far within as the model's context lets them be measured.
     */
    public synchronized boolean covers(int nodes) {
        return sizes.length > 0 && sizes[sizes.length - 1] >= Math.min(nodes, measurable);
    }

    /** Predicted nanoseconds of a step over {@code nodes} tree nodes (the root included) after {@code context} cached tokens. */
    public synchronized double nanos(int nodes, int context) {
        requireMeasured();
        return price(nodes, context, ceilings(context));
    }

    /**
     * Fills {@code out[k]} with the predicted nanoseconds of a step over {@code k} nodes, for {@code k} in
     * {@code [1, out.length)}, in one call. Never more for fewer nodes: see {@link #ceilings}.
     */
    public synchronized void curve(int context, double[] out) {
        requireMeasured();
        double[] ceilings = ceilings(context);
        for (int k = 1; k < out.length; k++) {
            out[k] = price(k, context, ceilings);
        }
    }

    /**
     * Like {@link #curve}, for a tree that shares its pass with others: {@code out[k]} is what a tree of {@code k}
     * nodes costs its generation in a pass of {@code trees} trees and {@code nodes} nodes in all, were the others as
     * they were. That is its share of a pass of that size, {@code T(nodes) / trees}, plus what its nodes add to or
     * take from the pass against a tree of the mean size, {@code T(others + k) - T(nodes)}: a tree is priced by what
     * it costs everyone. Priced alone (as {@link #curve} does), each tree would buy nodes whose time all the others
     * wait for too, and on a 7B model sixteen 64-node trees filled a pass with compute. Under a linear cost
     * {@code T(n) = T0 + n t} the price is {@code T0 / trees + k t}; where prices bend (padding, ceilings) it is kept
     * at {@code T(1) / trees} at least. Prices come from single trees of that many nodes, their part above one node's
     * price scaled by what live batched passes showed it to be ({@link #observeShared}).
     */
    public synchronized void sharedCurve(int context, int trees, int nodes, double[] out) {
        if (trees <= 1) {
            curve(context, out);
            return;
        }
        requireMeasured();
        double[] ceilings = ceilings(context);
        int others = nodes - nodes / trees;
        double one = price(1, context, ceilings);
        double pass = shared(nodes, context, ceilings, one);
        double share = pass / trees;
        double floor = one / trees;
        for (int k = 1; k < out.length; k++) {
            out[k] = Math.max(floor, share + shared(others + k, context, ceilings, one) - pass);
        }
    }

    /** A batched pass of {@code nodes} nodes: one node's price, and the single tree's part above it scaled. */
    private double shared(int nodes, int context, double[] ceilings, double one) {
        return one + sharedSlope * (price(nodes, context, ceilings) - one);
    }

    /**
     * Learns from one live batched pass of {@code trees} trees and {@code nodes} nodes (roots included), after some
     * {@code context} cached tokens, that took {@code nanos} from its start until its results were back. Each of a
     * pass's trees reports it, so each moves the factor a {@code 1 / trees} share of a single step's move, towards
     * what this pass says it is (held within [1/4, 16]). A pass whose nodes add less than a quarter of one node's
     * price to it says nothing: its time's noise would swamp them (on the 2-core CPU, 4 trees of a few nodes each
     * taught a factor of 6.5 from passes of 25-31 ms whose nodes were priced at a millisecond or two).
     */
    public synchronized void observeShared(int trees, int nodes, int context, long nanos) {
        requireMeasured();
        double[] ceilings = ceilings(context);
        double one = price(1, context, ceilings);
        double above = price(nodes, context, ceilings) - one;
        if (trees < 2 || above < one / 4) {
            return;
        }
        double seen = Math.max(MIN_SHARED_SLOPE, Math.min(MAX_SHARED_SLOPE, (nanos - one) / above));
        sharedSlope *= Math.exp(LEARNING_RATE / trees * Math.log(seen / sharedSlope));
    }

    /** What batched passes have shown a node to cost against the single-tree prices: see {@link #sharedCurve}. */
    public synchronized double sharedSlope() {
        return sharedSlope;
    }

    private static final double MIN_SHARED_SLOPE = 0.25;
    private static final double MAX_SHARED_SLOPE = 16;

    private double price(int nodes, int context, double[] ceilings) {
        return Math.min(predict(nodes, context), ceiling(ceilings, nodes));
    }

    /**
     * For each measured size, the lowest price of it and every larger size: a pass over fewer nodes never costs more
     * than one over more, and timings only ever run long (a busy machine), so where the prices say otherwise the
     * lower one is the truer. On the 2-core CPU the prices a run ended with were not monotone (1 node 13-18 ms, 8
     * nodes 14-19, 2 nodes 10-26), and the sizer verified 8-node trees where a single token was the better buy.
     * Live steps still correct each size's own price ({@link #observe}); only what the sizer is told is capped.
     */
    private double[] ceilings(int context) {
        double[] out = new double[sizes.length];
        double lowest = Double.MAX_VALUE;
        for (int i = sizes.length - 1; i >= 0; i--) {
            lowest = Math.min(lowest, Math.max(point(i, sizes[i], context), 1.0));
            out[i] = lowest;
        }
        return out;
    }

    /** The ceiling for a tree of {@code nodes}: that of the first measured size at or above its padded count. */
    private double ceiling(double[] ceilings, int nodes) {
        int padded = padded(nodes);
        int hi = upper(padded);
        return sizes[hi] >= padded ? ceilings[hi] : Double.MAX_VALUE;
    }

    /** Learns from one live step of {@code nodes} nodes after {@code context} cached tokens that took {@code nanos}. */
    public synchronized void observe(int nodes, int context, long nanos) {
        requireMeasured();
        nodes = padded(nodes);
        double surprise = Math.max(1 / MAX_SURPRISE, Math.min(MAX_SURPRISE, nanos / predict(nodes, context)));
        double logSurprise = Math.log(surprise);
        int hi = upper(nodes);
        if (hi == 0 || sizes[hi] <= nodes) {
            correction[hi] *= Math.exp(LEARNING_RATE * logSurprise);
            return;
        }
        double w = (double) (nodes - sizes[hi - 1]) / (sizes[hi] - sizes[hi - 1]);
        correction[hi - 1] *= Math.exp(LEARNING_RATE * (1 - w) * logSurprise);
        correction[hi] *= Math.exp(LEARNING_RATE * w * logSurprise);
    }

    /**
     * Whether a step about to verify the single token should verify its likeliest candidate instead: one such step in
     * {@value #EXPLORE_EVERY}. Live steps correct the price of a tree only when trees are verified, so a first
     * measurement that came out high (a busy machine) would otherwise keep trees out for good; and the acceptance
     * calibration, too, learns only from what is verified.
     */
    synchronized boolean exploreTree() {
        return ++singleTokenChoices % EXPLORE_EVERY == 0;
    }

    private static final int EXPLORE_EVERY = 16;
    private long singleTokenChoices;

    /** Wall time the first measurement took: what a model's first aded generation waits for. */
    public synchronized long firstMeasuringNanos() {
        return firstMeasuringNanos;
    }

    /** Wall time spent measuring so far. */
    public synchronized long measuringNanos() {
        return measuringNanos;
    }

    private double predict(int nodes, int context) {
        nodes = padded(nodes);
        int hi = upper(nodes);
        if (hi == 0 || sizes[hi] == nodes) {
            return Math.max(point(hi, nodes, context), 1.0);
        }
        // Between two measured sizes linearly; past the largest, along the line through the last two.
        int lo = hi - 1;
        double a = point(lo, sizes[lo], context);
        double b = point(hi, sizes[hi], context);
        return Math.max(a + (b - a) * (nodes - sizes[lo]) / (sizes[hi] - sizes[lo]), 1.0);
    }

    private int padded(int nodes) {
        return nodes < padded.length ? padded[nodes] : nodes;
    }

    private double point(int i, int nodes, int context) {
        double slope = slopeNodes == 1 ? slopeOne
                : slopeOne + (slopeLarge - slopeOne) * (nodes - 1) / (slopeNodes - 1);
        return correction[i] * (base[i] + slope * Math.max(0, context - SHORT_CONTEXT));
    }

    /** The index of the first size at or above {@code nodes}, or the last index when all are below. */
    private int upper(int nodes) {
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] >= nodes) {
                return i;
            }
        }
        return sizes.length - 1;
    }

    private void requireMeasured() {
        if (sizes.length == 0) {
            throw new IllegalStateException("the verifier's costs have not been measured: call ensureMeasured first");
        }
    }
}
