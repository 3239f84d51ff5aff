package dev.aded.core;

import java.util.Arrays;
import java.util.List;

/**
 * Chooses, each step, which of the drafted candidates to verify: the tree that maximises expected new tokens per
 * unit of time, as Sequoia sizes its trees by the hardware.
 *
 * <p>The drafter (with the context-lookup chain) fills {@link #candidates()} up to the config's tree budget. Each
 * candidate gets an acceptance estimate, the probability that verification takes it once its parent is taken,
 * calibrated online from outcomes: drafted nodes by their draft probability ({@link AcceptanceCalibration}),
 * lookup-chain nodes by their place on the chain and the length of the match that found it, nodes both proposed
 * likewise on calibrations of their own. A node's path
 * value, the product of the estimates from the root, is the chance it is accepted, so a tree of k nodes is expected
 * to yield {@code 1 + sum of their path values} tokens (the model's own next token always comes). The best tree of
 * k nodes is the k candidates of highest path value (a connected tree, since a child's value never exceeds its
 * parent's); the chosen k maximises that expectation over the step's time, the draft time already spent plus
 * {@link VerifierCostModel}'s price of k + 1 nodes at this context length. When nothing is likely to be accepted, k is
 * 0 and the step verifies the single token, which costs what plain decoding does; one such step in 16 (per model)
 * verifies the likeliest candidate anyway, so that a tree's price and the calibration keep meeting evidence.
 *
 * <p>Learning walks the whole candidate tree, not only the verified part, along the tokens the step produced: each
 * candidate whose parent lies on that path is a hit or a miss whatever was verified, so an estimate that fell too
 * low to be verified still meets evidence at the depths the step reached. Not thread-safe: one per generation.
 */
final class TreeSizer {
    /** Chain positions told apart: 1, 2, 3 and 4 or more nodes below the root. */
    private static final int CHAIN_BANDS = 4;
    /**
     * Where the chain's match length starts a new band: 1, 2-3, 4-7 and 8 or more tokens (see {@link ContextLookup}).
     */
    private static final int[] MATCH_BANDS = {2, 4, 8};
    /**
     * The chain's hit rates before a generation has shown its own, by match band and position: the rounded rates of
     * code-15m's greedy outputs of the dev prompts (ContextLookup's comment); each generation's calibration moves
     * from there.
     */
    private static final double[][] CHAIN_PRIORS = {
        {0.25, 0.6, 0.7, 0.8}, {0.6, 0.7, 0.8, 0.9}, {0.8, 0.85, 0.85, 0.9}, {0.95, 0.95, 0.95, 0.95}};

    /**
     * Evidence per band a generation starts from, at most: about what 16 verified chain nodes or 30-60 drafted ones
     * bring, so that a generation whose prompt suits the drafter better or worse than the ones before soon shows it.
     */
    private static final double SEED_MASS = 16;

    /**
     * Candidates drafted at least, whatever the trees chosen lately: room for the whole lookup chain beside as many
     * drafted nodes ({@link ContextLookup} gives the chain at most half the budget).
     */
    static final int MIN_DRAFT = 32;
    /**
     * Candidates drafted per node chosen lately: enough for the sizer's choice to grow, step by step. On the H200,
     * where the step replays a graph of 32 nodes for any tree of 17 to 32, the sizer kept ~30 and a margin of 2
     * drafted ~60 at 1.2 µs each on the critical path: 1.5 gave 4.27 tokens a step against 4.28 and 6% more tokens/s
     * (docs/benchmarks.md); 1.25 drafted too few to reach the next bucket on one machine (15 nodes, 3.90 tokens).
     */
    private static final double DRAFT_MARGIN = 1.5;
    /** Weight of a step in the running mean of the chosen tree sizes. */
    private static final double CHOSEN_RATE = 0.2;

    private final VerifierCostModel cost;
    private final DraftTree candidates;
    /** Running mean of the draft nodes chosen per step; starts at the budget, so the first steps draft it all. */
    private double chosenMean;
    private final Calibrations calibrations = new Calibrations();
    /** Where this generation's calibrations came from and go back to; null for none. */
    private final Record record;
    private final double[] values;
    private final long[] order;
    private final boolean[] chosen;
    private final int[] mapped;
    private final double[] stepNanos;

    /** @param budget the most draft nodes a step may verify */
    TreeSizer(int budget, VerifierCostModel cost) {
        this(budget, cost, null);
    }

    /**
     * @param budget the most draft nodes a step may verify
     * @param record what earlier generations of the same generator observed, to start from; null for nothing
     */
    TreeSizer(int budget, VerifierCostModel cost, Record record) {
        this.cost = cost;
        this.candidates = new DraftTree(budget + 1);
        this.record = record;
        if (record != null) {
            record.seed(calibrations);
        }
        this.chosenMean = budget;
        this.values = new double[budget + 1];
        this.order = new long[budget];
        this.chosen = new boolean[budget + 1];
        this.mapped = new int[budget + 1];
        this.stepNanos = new double[budget + 2];
    }

    /** The tree the drafter fills each step, before the choice. */
    DraftTree candidates() {
        return candidates;
    }

    /**
     * How many of {@code nodes} to draft this step: 1.5 times the nodes chosen lately, at least {@value #MIN_DRAFT}.
     * Drafting costs per node (on the H200's host about 3 µs: 0.15 ms for the whole budget against a 1 ms step)
     * while the sizer may keep a few: on the CPU it verified 5 of 63 candidates a step.
     */
    int draftNodes(int nodes) {
        return Math.min(nodes, Math.max(MIN_DRAFT, (int) Math.ceil(DRAFT_MARGIN * chosenMean)));
    }

    /**
     * Copies the tree worth verifying from the candidates into {@code out} and returns the tokens it is expected to
     * yield.
     *
     * @param context tokens in the model's cache, which the pass attends over
     * @param draftNanos what drafting this step cost
     * @param pass the pass the tree is likely to share ({@link StepScheduler.Pass#ALONE} for none), whose trees
     *     each pay for what their nodes cost the others ({@link VerifierCostModel#sharedCurve})
     */
    double choose(DraftTree out, int context, long draftNanos, StepScheduler.Pass pass) {
        int n = candidates.size();
        values[0] = 1.0;
        for (int i = 1; i < n; i++) {
            values[i] = values[candidates.parent(i)] * estimate(i);
            // Ascending order of (1 - value, index): the most likely first, a parent before a child of equal value.
            order[i - 1] = (long) Float.floatToIntBits((float) (1.0 - values[i])) << 32 | i;
        }
        Arrays.sort(order, 0, n - 1);
        cost.sharedCurve(context, pass.trees(), pass.nodes(), stepNanos);
        double expected = 1.0;
        double best = expected / (draftNanos + stepNanos[1]);
        int bestCount = 0;
        double bestExpected = expected;
        for (int k = 1; k < n; k++) {
            expected += values[(int) order[k - 1]];
            double rate = expected / (draftNanos + stepNanos[k + 1]);
            if (rate > best) {
                best = rate;
                bestCount = k;
                bestExpected = expected;
            }
        }
        if (bestCount == 0 && n > 1 && cost.exploreTree()) {
            bestCount = 1;
            bestExpected = 1.0 + values[(int) order[0]];
        }
        chosenMean += CHOSEN_RATE * (bestCount - chosenMean);
        Arrays.fill(chosen, 0, n, false);
        for (int k = 0; k < bestCount; k++) {
            chosen[(int) order[k]] = true;
        }
        out.reset(candidates.token(0));
        mapped[0] = 0;
        for (int i = 1; i < n; i++) {
            if (chosen[i]) {
                int parent = mapped[candidates.parent(i)];
                mapped[i] = candidates.isDrafted(i) ? out.add(parent, candidates.token(i), candidates.prob(i))
                        : out.addLookup(parent, candidates.token(i));
                if (candidates.isDrafted(i) && candidates.isLookup(i)) {
                    out.markLookup(mapped[i]);
                }
            }
        }
        return bestExpected;
    }

    /**
     * Learns from the step's new tokens {@code tokens[0, produced)} and returns how many of them the candidate tree
     * held as a path from the root.
     */
    int learn(int[] tokens, int produced) {
        int node = 0;
        int matched = 0;
        while (matched < produced) {
            int next = -1;
            for (int c = candidates.firstChild(node); c >= 0; c = candidates.nextSibling(c)) {
                boolean hit = candidates.token(c) == tokens[matched];
                calibration(c).observe(probability(c), hit);
                if (hit) {
                    next = c;
                }
            }
            if (next < 0) {
                break;
            }
            node = next;
            matched++;
        }
        return matched;
    }

    /** The calibrated chance that the model takes candidate {@code node} once it has taken the node's parent. */
    double estimate(int node) {
        return calibration(node).accept(probability(node));
    }

    private AcceptanceCalibration calibration(int node) {
        if (!candidates.isLookup(node)) {
            return calibrations.drafted;
        }
        int band = 0;
        while (band < MATCH_BANDS.length && candidates.lookupMatch() >= MATCH_BANDS[band]) {
            band++;
        }
        AcceptanceCalibration[][] table = candidates.isDrafted(node) ? calibrations.both : calibrations.chain;
        return table[band][Math.min(candidates.depth(node), CHAIN_BANDS) - 1];
    }

    /**
     * The drafter's probability for drafted nodes; for chain nodes 1, so that their calibration's ratio alone is the
     * estimate, the hit rate at that position after a match of that length. A node the drafter proposed too is
     * rated like the chain, not by its draft probability: over 30 dev prompts, such nodes drafted at q ≤ 0.02 were
     * taken 62 times where q summed to 0.7, so q says little once the request repeats itself.
     */
    private double probability(int node) {
        return candidates.isLookup(node) ? 1.0 : candidates.prob(node);
    }

    /** Hands what this generation observed to the record it started from, for the generations after it. */
    void handBack() {
        if (record != null) {
            record.add(calibrations);
        }
    }

    /**
     * The calibrations a sizer estimates with: drafted nodes by draft probability; chain nodes, and apart from them
     * nodes both drafted and on the chain (the easier ones: counted together, chain-only nodes would be overrated), by
     * match length and position.
     */
    private static final class Calibrations {
        final AcceptanceCalibration drafted = new AcceptanceCalibration();
        final AcceptanceCalibration[][] both = byMatchAndPosition();
        final AcceptanceCalibration[][] chain = byMatchAndPosition();
        final AcceptanceCalibration[] all = new AcceptanceCalibration[1 + 2 * chain.length * CHAIN_BANDS];

        Calibrations() {
            all[0] = drafted;
            int i = 1;
            for (AcceptanceCalibration[][] table : List.of(both, chain)) {
                for (AcceptanceCalibration[] row : table) {
                    for (AcceptanceCalibration c : row) {
                        all[i++] = c;
                    }
                }
            }
        }

        private static AcceptanceCalibration[][] byMatchAndPosition() {
            AcceptanceCalibration[][] table = new AcceptanceCalibration[MATCH_BANDS.length + 1][CHAIN_BANDS];
            for (int m = 0; m < table.length; m++) {
                for (int p = 0; p < CHAIN_BANDS; p++) {
                    table[m][p] = new AcceptanceCalibration(CHAIN_PRIORS[m][p]);
                }
            }
            return table;
        }
    }

    /**
     * How the drafter's proposals fared across the generations of one generator (one model, one drafter), so that
     * each generation starts from the record rather than from priors: a generation of 128 tokens takes only some
     * 40 steps, too few to learn a dozen calibrations from nothing. Thread-safe.
     */
    static final class Record {
        private final Calibrations record = new Calibrations();

        private synchronized void seed(Calibrations into) {
            for (int i = 0; i < into.all.length; i++) {
                into.all[i].seed(record.all[i], SEED_MASS);
            }
        }

        private synchronized void add(Calibrations from) {
            for (int i = 0; i < from.all.length; i++) {
                from.all[i].addObservationsTo(record.all[i]);
            }
        }
    }
}
