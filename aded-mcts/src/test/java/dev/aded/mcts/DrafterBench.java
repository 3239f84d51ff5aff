package dev.aded.mcts;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.datastore.Datastore;
import dev.aded.datastore.NgramCounts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Drafter benchmark: median draft time of 16- and 64-node trees on real contexts, and how the accepted length grows
 * with the budget on the dev prompts, for MCTS and best-first at equal budgets.
 *
 * <p>Without a model the accepted length is a proxy: the prompt's reference continuation plays the model, a step
 * accepts the longest tree path that matches the reference from the current position, and the reference's next
 * token is the model's own. It also prints the drafters' own estimate, the tree's sum of path probabilities.
 *
 * <p>Usage (from the repository root): {@code DrafterBench --datastore <file.aded>} for a datastore file, with
 * {@link AdaptiveCounts} over it where the drafters learn, or {@code DrafterBench <corpus dir> <corpus MB>
 * [excluded folder...]} for in-memory counts of a corpus.
 */
public final class DrafterBench {
    private static final int DEPTH = 8;
    private static final int[] BUDGETS = {8, 16, 32, 64, 128};

    private record Prompt(int[] tokens, int start) {}

    private record Result(double acceptedPerStep, double estimatePerStep) {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("aded.root", "."));
        try (Tokenizer tokenizer = Tokenizer.load(root.resolve("aded-examples/models/code-15m"))) {
            List<Prompt> prompts = loadPrompts(root.resolve("aded-examples/data/code-dev.jsonl"), tokenizer);
            System.out.printf("prompts: %d, %d reference tokens%n", prompts.size(),
                    prompts.stream().mapToInt(p -> p.tokens.length - p.start).sum());
            if (args[0].equals("--datastore")) {
                benchDatastore(Path.of(args[1]), tokenizer, prompts);
            } else {
                benchCorpus(Path.of(args[0]), Double.parseDouble(args[1]), List.of(args).subList(2, args.length),
                        tokenizer, prompts);
            }
        }
    }

    private static void benchDatastore(Path file, Tokenizer tokenizer, List<Prompt> prompts) {
        try (Datastore datastore = Datastore.open(file)) {
            datastore.requireTokenizer(tokenizer.file(), tokenizer.vocabSize());
            System.out.println("datastore: " + file + " " + datastore.info().toJson());
            timings(datastore, prompts);
            quality(datastore, () -> new AdaptiveCounts(datastore), prompts);
        }
    }

    private static void benchCorpus(Path corpus, double megabytes, List<String> excluded, Tokenizer tokenizer,
            List<Prompt> prompts) throws IOException {
        long maxBytes = (long) (megabytes * 1_000_000);
        long t0 = System.nanoTime();
        long[] tokensRead = new long[1];
        MapCounts counts = CorpusCounts.count(tokenizer, CorpusCounts.pythonFiles(corpus, excluded), maxBytes,
                tokensRead).pruneTo(64);
        System.out.printf("counts: %,d corpus tokens from %s (%.1f MB, excluding %s), pruned to 64 per context,"
                + " built in %.1f s%n", tokensRead[0], corpus, maxBytes / 1e6, excluded,
                (System.nanoTime() - t0) / 1e9);
        timings(counts, prompts);
        quality(counts, counts::copy, prompts);
    }

    /** Encodes prompt and prompt + reference; the reference starts where the two encodings part. */
    private static List<Prompt> loadPrompts(Path jsonl, Tokenizer tokenizer) throws Exception {
        List<Prompt> out = new ArrayList<>();
        for (String line : Files.readAllLines(jsonl, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            String prompt = o.get("prompt").getAsString();
            int[] head = tokenizer.encode(prompt);
            int[] full = tokenizer.encode(prompt + o.get("reference").getAsString());
            int start = Arrays.mismatch(head, full);
            out.add(new Prompt(full, start < 0 ? head.length : start));
        }
        return out;
    }

    private static void timings(NgramCounts counts, List<Prompt> prompts) {
        System.out.println();
        System.out.println("| drafter | nodes | median µs | p90 µs | samples |");
        System.out.println("|---|---|---|---|---|");
        for (int budget : new int[] {16, 64}) {
            for (int children : new int[] {32, 8}) {
                DrafterOptions options =
                        DrafterOptions.defaults().withAdaptCounts(false).withMaxChildren(children);
                String suffix = ", " + children + " children";
                time("mcts" + suffix, new MctsDrafter(counts, options), prompts, budget);
                time("best-first" + suffix, new BestFirstDrafter(counts, options), prompts, budget);
            }
        }
    }

    /** Times one draft per reference position; four passes warm the JIT up, the fifth is the one kept. */
    private static void time(String name, Drafter drafter, List<Prompt> prompts, int budget) {
        DraftTree tree = new DraftTree(budget + 1);
        int positions = prompts.stream().mapToInt(p -> p.tokens.length - p.start).sum();
        long[] nanos = new long[positions];
        for (int pass = 0; pass < 5; pass++) {
            int k = 0;
            for (Prompt p : prompts) {
                for (int length = p.start; length < p.tokens.length; length++) {
                    tree.reset(p.tokens[length - 1]);
                    long t0 = System.nanoTime();
                    drafter.draft(p.tokens, length, budget, DEPTH, tree);
                    nanos[k++] = System.nanoTime() - t0;
                    drafter.onAccepted(p.tokens, length + 1, 1, 0);
                }
            }
        }
        Arrays.sort(nanos);
        System.out.printf("| %s | %d | %.1f | %.1f | %d |%n", name, budget, nanos[positions / 2] / 1e3,
                nanos[positions * 9 / 10] / 1e3, positions);
    }

    /** A drafter configuration of the quality table; {@code learns} runs get fresh counts of their own. */
    private record Config(String name, boolean learns, Function<NgramCounts, Drafter> make) {}

    /**
     * Prints the quality table; {@code counts} serve the runs that do not learn, {@code fresh} makes counts in the
     * same initial state for each run that does.
     */
    private static void quality(NgramCounts counts, Supplier<NgramCounts> fresh, List<Prompt> prompts) {
        List<Config> configs = List.of(
                new Config("best-first, no calibration", false,
                        c -> new BestFirstDrafter(c, opts().withAdaptPolicy(false))),
                new Config("best-first (default, calibration)", false, c -> new BestFirstDrafter(c, opts())),
                new Config("mcts c=0", false, c -> new MctsDrafter(c, opts().withExploration(0))),
                new Config("mcts c=0.3", false, c -> new MctsDrafter(c, opts().withExploration(0.3))),
                new Config("mcts c=1 (default)", false, c -> new MctsDrafter(c, opts())),
                new Config("mcts c=3", false, c -> new MctsDrafter(c, opts().withExploration(3))),
                new Config("mcts c=1, no calibration", false,
                        c -> new MctsDrafter(c, opts().withAdaptPolicy(false))),
                new Config("best-first, 8 children", false,
                        c -> new BestFirstDrafter(c, opts().withMaxChildren(8))),
                new Config("mcts, 8 children", false, c -> new MctsDrafter(c, opts().withMaxChildren(8))),
                new Config("best-first, 64 children", false,
                        c -> new BestFirstDrafter(c, opts().withMaxChildren(64))),
                new Config("mcts, 64 children", false, c -> new MctsDrafter(c, opts().withMaxChildren(64))),
                new Config("best-first, unseen mass 0", false,
                        c -> new BestFirstDrafter(c, opts().withUnseenMass(0))),
                new Config("best-first, unseen mass 4", false,
                        c -> new BestFirstDrafter(c, opts().withUnseenMass(4))),
                new Config("best-first + count learning", true,
                        c -> new BestFirstDrafter(c, opts().withAdaptCounts(true))),
                new Config("mcts c=1 + count learning", true,
                        c -> new MctsDrafter(c, opts().withAdaptCounts(true))));
        System.out.println();
        System.out.println("Proxy accepted draft tokens per step (reference continuation as the model),"
                + " drafter's own estimate in brackets, depth " + DEPTH + ":");
        StringBuilder header = new StringBuilder("| drafter |");
        StringBuilder rule = new StringBuilder("|---|");
        for (int b : BUDGETS) {
            header.append(" ").append(b).append(" |");
            rule.append("---|");
        }
        System.out.println(header);
        System.out.println(rule);
        for (Config config : configs) {
            StringBuilder row = new StringBuilder("| " + config.name + " |");
            for (int budget : BUDGETS) {
                NgramCounts runCounts = config.learns ? fresh.get() : counts;
                Result r = simulate(() -> config.make.apply(runCounts), prompts, budget);
                row.append(String.format(" %.3f (%.2f) |", r.acceptedPerStep, r.estimatePerStep));
            }
            System.out.println(row);
        }
    }

    private static DrafterOptions opts() {
        return DrafterOptions.defaults().withAdaptCounts(false);
    }

    /**
     * Replays every prompt's reference as if the model produced it; one drafter per prompt (one generation each),
     * counts shared by all prompts of a run, as in a server: what one generation learns, the next ones see.
     */
    private static Result simulate(Supplier<Drafter> make, List<Prompt> prompts, int budget) {
        DraftTree tree = new DraftTree(budget + 1);
        long steps = 0;
        long accepted = 0;
        double estimate = 0;
        double[] pathProb = new double[budget + 1];
        for (Prompt p : prompts) {
            Drafter drafter = make.get();
            int length = p.start;
            while (length < p.tokens.length) {
                tree.reset(p.tokens[length - 1]);
                drafter.draft(p.tokens, length, budget, DEPTH, tree);
                estimate += estimate(tree, pathProb);
                int matched = match(tree, p.tokens, length);
                int produced = Math.min(matched + 1, p.tokens.length - length);
                length += produced;
                drafter.onAccepted(p.tokens, length, produced, Math.min(matched, produced));
                accepted += Math.min(matched, produced);
                steps++;
            }
        }
        return new Result((double) accepted / steps, estimate / steps);
    }

    /** The drafter's own expected accepted length: the sum of the nodes' path probabilities. */
    private static double estimate(DraftTree tree, double[] pathProb) {
        pathProb[0] = 1;
        double sum = 0;
        for (int i = 1; i < tree.size(); i++) {
            pathProb[i] = pathProb[tree.parent(i)] * tree.prob(i);
            sum += pathProb[i];
        }
        return sum;
    }

    /** How many tokens of {@code tokens[from..]} the tree holds as one path from the root (greedy acceptance). */
    private static int match(DraftTree tree, int[] tokens, int from) {
        int node = 0;
        int n = 0;
        while (from + n < tokens.length) {
            int child = tree.child(node, tokens[from + n]);
            if (child < 0) {
                break;
            }
            node = child;
            n++;
        }
        return n;
    }
}
