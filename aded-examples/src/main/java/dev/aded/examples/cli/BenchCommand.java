package dev.aded.examples.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.GenerationStats;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import dev.aded.core.VerifierCostModel;
import dev.aded.examples.report.BenchReport;
import dev.aded.verify.LlamaModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs every prompt of a JSONL file through each mode, greedy, and reports speed, acceptance and whether each
 * output equals plain decoding's, as JSON, a table and an HTML report with charts. Modes take turns prompt by
 * prompt. With {@code --concurrency}, each mode then also runs the prompt set with N clients at once, for each N,
 * against its single-stream run: aggregate throughput, per-request latency and whether outputs stay the same.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark modes over a JSONL prompt file (field 'prompt'); writes JSON, a table and an HTML"
                + " report.")
final class BenchCommand implements Callable<Integer> {
    /** The context length the bench reports the cost model's prices at: about a dev prompt plus its output. */
    private static final int PRICE_CONTEXT = 256;
    private static final String WARM_UP_PROMPT = "import os\n\n\ndef main():\n";
    /** Requests a client of a concurrency level makes at least: see {@link #runConcurrently}. */
    private static final int REQUESTS_PER_CLIENT = 4;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--prompts", required = true, paramLabel = "JSONL")
    Path prompts;

    @Option(names = "--modes", paramLabel = "ar,pld,aded", split = ",", defaultValue = "ar,pld,aded")
    List<String> modes;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128")
    int maxNewTokens;

    @Option(names = "--tree-budget", paramLabel = "N", defaultValue = "" + GenerationConfig.DEFAULT_TREE_BUDGET,
            description = "the most draft nodes a step may verify (default: ${DEFAULT-VALUE}); aded verifies as"
                    + " many as pay for themselves")
    int treeBudget;

    @Option(names = "--limit", paramLabel = "N", description = "use only the first N prompts")
    Integer limit;

    @Option(names = "--json", required = true, paramLabel = "FILE")
    Path json;

    @Option(names = "--report", paramLabel = "FILE", description = "HTML report (default: the JSON path with .html)")
    Path report;

    @Option(names = "--concurrency", paramLabel = "N", split = ",",
            description = "after the single-stream run, run the prompts again with N clients at once for each N"
                    + " (e.g. 1,4,16,64), the generator verifying up to the largest N generations' trees in one"
                    + " forward pass; reports aggregate tokens/s and latency against the single stream")
    List<Integer> concurrency;

    @Option(names = "--rounds", paramLabel = "R", defaultValue = "1",
            description = "run each concurrency level above 1 R times, modes taking turns, and report the run of"
                    + " median aggregate tokens/s, every run's beside it (default: ${DEFAULT-VALUE})")
    int rounds;

    @Override
    public Integer call() throws IOException {
        if (limit != null && limit < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit must be at least 1");
        }
        if (rounds < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rounds must be at least 1");
        }
        List<Integer> levels = concurrencyLevels();
        List<String> texts = readPrompts(prompts, limit);
        List<Mode> order = orderModes(modes);
        // Clients never outnumber the slots, so none should wait; room for every prompt anyway, so that a slot
        // released a moment late fails no request as busy.
        try (Generator p = levels.isEmpty() ? model.open() : model.open(null, levels.get(levels.size() - 1), texts.size())) {
            for (Mode mode : order) {
                if (!p.supports(mode)) {
                    throw new IllegalArgumentException("mode " + mode.id() + " needs a datastore: give --datastore"
                            + " or leave it out of --modes");
                }
            }
            JsonObject out = new JsonObject();
            out.addProperty("model", p.model().name());
            out.addProperty("device", p.model().device());
            LlamaModel target = (LlamaModel) p.model();
            out.addProperty("dtype", target.dataType().toString().toLowerCase(Locale.ROOT));
            out.addProperty("prompts", texts.size());
            out.addProperty("max_new_tokens", maxNewTokens);
            out.addProperty("drafter", model.resolvedDrafter());
            out.addProperty("context_lookup", model.contextLookup);
            out.addProperty("tree_budget", treeBudget);
            if (!levels.isEmpty()) {
                out.add("concurrency", new Gson().toJsonTree(levels));
                out.addProperty("rounds", rounds);
                out.addProperty("max_pass_nodes", p.passNodes());
            }
            Map<Mode, GenerationConfig> configs = new LinkedHashMap<>();
            Map<Mode, ModeRun> runs = new LinkedHashMap<>();
            Map<Mode, Request[]> singleRequests = new LinkedHashMap<>();
            for (Mode mode : order) {
                GenerationConfig config = GenerationConfig.builder().mode(mode).maxNewTokens(maxNewTokens)
                        .treeBudget(treeBudget).build();
                p.generate(WARM_UP_PROMPT, warmUp(config));
                configs.put(mode, config);
                runs.put(mode, new ModeRun());
                singleRequests.put(mode, new Request[texts.size()]);
            }
            // Its first generation's statistics leave the cost model's timing out, but the wall time the
            // concurrency figures use would not; nor would they leave out the CUDA graphs' captures.
            int longest = texts.stream().mapToInt(t -> p.tokenizer().encode(t).length).max().orElse(1);
            long preparing = System.nanoTime();
            configs.values().forEach(c -> p.prepare(c, longest));
            out.addProperty("prepare_ms", (System.nanoTime() - preparing) / 1e6);
            warmUpConcurrently(p, texts, configs.values(), levels);
            // Modes take turns on each prompt, so that a machine slowing down or speeding up (a shared host, clock
            // changes) weighs on all of them alike; each mode still sees the prompts in file order, so the adaptive
            // counts learn from the same sequence as in a run of that mode alone.
            for (int i = 0; i < texts.size(); i++) {
                for (Mode mode : order) {
                    Request r = timed(p, texts.get(i), configs.get(mode));
                    singleRequests.get(mode)[i] = r;
                    runs.get(mode).add(r.result().stats(), r.captureNanos());
                }
                System.err.printf(Locale.ROOT, "\rprompt %d/%d", i + 1, texts.size());
            }
            System.err.println();
            Map<Mode, Pass> single = new LinkedHashMap<>();
            singleRequests.forEach((mode, requests) -> single.put(mode, Pass.oneAtATime(requests)));
            Map<Mode, JsonArray> curves = concurrencyCurves(p, texts, configs, single, levels, rounds);
            JsonObject byMode = new JsonObject();
            int[][] ar = single.containsKey(Mode.AR) ? single.get(Mode.AR).outputs() : null;
            for (Mode mode : order) {
                JsonObject m = runs.get(mode).toJson();
                if (ar != null) {
                    m.add("differences", NearTies.compare(p, texts, ar, single.get(mode).outputs()));
                    m.addProperty("identical_to_ar", texts.size() - m.getAsJsonArray("differences").size());
                }
                if (!levels.isEmpty()) {
                    addConcurrency(m, single.get(mode), curves.get(mode));
                }
                byMode.add(mode.id(), m);
            }
            out.add("modes", byMode);
            out.addProperty("steps", target.stepMode());
            // Paid once, before the first aded generation, outside its statistics: the sizes timed at first use,
            // and all of them (prepare times the larger ones too).
            VerifierCostModel cost = VerifierCostModel.of(p.model());
            out.addProperty("cost_model_first_ms", cost.firstMeasuringNanos() / 1e6);
            out.addProperty("cost_model_ms", cost.measuringNanos() / 1e6);
            if (cost.covers(1)) {
                // The prices the sizer ended the run with (live steps correct the first timing), at a typical context:
                // a run whose trees look too large or too small for its device shows why here.
                JsonObject prices = new JsonObject();
                for (int nodes = 1; nodes <= treeBudget + 1 && cost.covers(nodes); nodes *= 2) {
                    prices.addProperty(Integer.toString(nodes), cost.nanos(nodes, PRICE_CONTEXT) / 1e6);
                }
                out.add("step_ms_by_nodes_at_" + PRICE_CONTEXT + "_tokens", prices);
                // What batched passes taught the sizer a node costs in them against those single-tree prices.
                out.addProperty("shared_pass_slope", cost.sharedSlope());
            }
            Files.writeString(json, new GsonBuilder().setPrettyPrinting().create().toJson(out),
                    StandardCharsets.UTF_8);
            Path html = report != null ? report : json.resolveSibling(json.getFileName().toString()
                    .replaceFirst("\\.json$", "") + ".html");
            Files.writeString(html, BenchReport.html(out), StandardCharsets.UTF_8);
            System.out.print(table(out));
            System.out.println("wrote " + json + " and " + html);
        }
        return 0;
    }

    static List<String> readPrompts(Path file, Integer limit) throws IOException {
        List<String> texts = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            try {
                texts.add(JsonParser.parseString(line).getAsJsonObject().get("prompt").getAsString());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + " line " + lineNo + ": not a JSON object with a string"
                        + " field 'prompt'", e);
            }
            if (limit != null && texts.size() == limit) {
                break;
            }
        }
        if (texts.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no prompts");
        }
        return texts;
    }

    /** The --concurrency values, ascending and each once; empty when the option was not given. */
    private List<Integer> concurrencyLevels() {
        if (concurrency == null) {
            return List.of();
        }
        for (int n : concurrency) {
            if (n < 1) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--concurrency values must be at least 1, got " + n);
            }
        }
        return List.copyOf(new TreeSet<>(concurrency));
    }

    /** In plain decoding, so no mode's drafter learns from text outside the run; JIT and allocator warm alike. */
    private static GenerationConfig warmUp(GenerationConfig config) {
        return config.toBuilder().mode(Mode.AR).maxNewTokens(16).build();
    }

    /**
     * Runs the prompt set at each level in each mode once before anything is measured, so that no measured run pays
     * for what its batches need on first use (buffers, kernels, the CUDA graph of each batch shape: a capture costs
     * tens of milliseconds, and a run meets dozens of shapes). aded's counts learn these outputs here; the
     * single-stream runs would teach them the same outputs anyway.
     */
    private static void warmUpConcurrently(Generator p, List<String> texts, Collection<GenerationConfig> configs,
            List<Integer> levels) {
        for (int n : levels) {
            if (n > 1) {
                for (GenerationConfig config : configs) {
                    runConcurrently(p, texts, config, n);
                }
            }
        }
    }

    /** One generation, timed as its caller sees it: waiting for a slot included. */
    private static Request timed(Generator p, String prompt, GenerationConfig config) {
        LlamaModel target = (LlamaModel) p.model();
        long captures = target.graphCaptureNanos();
        long start = System.nanoTime();
        GenerationResult r = p.generate(prompt, config, null, new Cancellation());
        return new Request(r, start, System.nanoTime() - start, target.graphCaptureNanos() - captures);
    }

    /**
     * {@code clients} threads take the prompts in file order from one shared counter, each asking for the next as
     * soon as its last one returns, as that many users of a server would; timed from the first request to the last
     * answer. There are {@value #REQUESTS_PER_CLIENT} requests a client at least, the prompts taken again from the
     * first where they run out: with one request each (60 prompts, 64 clients), a level would time one wave that
     * thins out as its generations end, never the steady state that many users keep up.
     */
    private static Pass runConcurrently(Generator p, List<String> texts, GenerationConfig config, int clients) {
        Request[] requests = new Request[Math.max(texts.size(), REQUESTS_PER_CLIENT * clients)];
        AtomicInteger next = new AtomicInteger();
        Callable<Void> client = () -> {
            for (int i = next.getAndIncrement(); i < requests.length; i = next.getAndIncrement()) {
                requests[i] = timed(p, texts.get(i % texts.size()), config);
            }
            return null;
        };
        ExecutorService threads = Executors.newFixedThreadPool(clients);
        LlamaModel target = (LlamaModel) p.model();
        try {
            long captures = target.graphCaptureNanos();
            Generator.PassCounts before = p.passCounts();
            long start = System.nanoTime();
            for (Future<Void> f : threads.invokeAll(Collections.nCopies(clients, client))) {
                f.get();
            }
            long wall = System.nanoTime() - start;
            Generator.PassCounts after = p.passCounts();
            return new Pass(requests, wall, target.graphCaptureNanos() - captures, after.passes() - before.passes(),
                    after.startedByWait() - before.startedByWait());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + clients + " clients were generating", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * Each mode's curve, one point per level. Levels take turns and, within a level, the rounds and within a round
     * the modes, so that a machine slowing down or speeding up weighs on all modes alike; level 1 is the
     * single-stream run itself. A level above 1 runs {@code rounds} times, and its point is the run of median
     * aggregate rate: at 16 streams a run of the 60 dev prompts lasts a quarter of a second on a GPU, and one
     * machine's runs of the same code spread over 28-35 k tokens/s (docs/benchmarks.md), too wide for one run to
     * tell two versions apart.
     */
    private static Map<Mode, JsonArray> concurrencyCurves(Generator p, List<String> texts,
            Map<Mode, GenerationConfig> configs, Map<Mode, Pass> single, List<Integer> levels, int rounds) {
        Map<Mode, JsonArray> curves = new LinkedHashMap<>();
        configs.keySet().forEach(mode -> curves.put(mode, new JsonArray()));
        for (int n : levels) {
            Map<Mode, List<Pass>> runs = new LinkedHashMap<>();
            for (int r = 0; r < (n == 1 ? 1 : rounds); r++) {
                for (Mode mode : configs.keySet()) {
                    Pass pass = n == 1 ? single.get(mode) : runConcurrently(p, texts, configs.get(mode), n);
                    runs.computeIfAbsent(mode, m -> new ArrayList<>()).add(pass);
                    System.err.printf(Locale.ROOT, "concurrency %d, %s: %.1f tokens/s%n", n, mode.id(),
                            pass.tokensPerSecond());
                }
            }
            runs.forEach((mode, passes) -> curves.get(mode).add(curvePoint(n, passes, single.get(mode))));
        }
        return curves;
    }

    /** A level's point: the figures of its run of median aggregate rate, and every run's rate. */
    private static JsonObject curvePoint(int clients, List<Pass> runs, Pass single) {
        List<Pass> byRate = new ArrayList<>(runs);
        byRate.sort(Comparator.comparingDouble(Pass::tokensPerSecond));
        Pass pass = byRate.get(byRate.size() / 2);
        JsonObject o = new JsonObject();
        o.addProperty("concurrency", clients);
        o.addProperty("aggregate_tokens_per_second", pass.tokensPerSecond());
        JsonArray rates = new JsonArray();
        runs.forEach(r -> rates.add(r.tokensPerSecond()));
        o.add("aggregate_tokens_per_second_rounds", rates);
        o.addProperty("aggregate_tokens_per_second_without_captures", pass.tokensPerSecondWithoutCaptures());
        o.addProperty("speedup_vs_single_stream",
                single.tokensPerSecond() == 0 ? 0 : pass.tokensPerSecond() / single.tokensPerSecond());
        // The aggregate holds the level's start, where the first prefills queue, and its tail, where ever fewer
        // streams run; this is the rate while all of them do, as a service kept at that load sees it.
        o.addProperty("steady_tokens_per_second", clients == 1 ? pass.tokensPerSecond()
                : pass.steadyTokensPerSecond(clients));
        o.addProperty("p50_ms_per_token", pass.p50MsPerToken());
        o.addProperty("p50_ms_per_token_single_stream", single.p50MsPerToken());
        o.addProperty("identical_to_single_stream", pass.identicalTo(single));
        o.addProperty("requests", pass.requests().length);
        o.addProperty("mean_sequences_per_pass", pass.meanSequencesPerPass());
        o.addProperty("mean_draft_nodes_per_tree", pass.meanDraftNodes());
        o.addProperty("mean_pass_ms", pass.meanPassMs());
        o.addProperty("device_busy", pass.deviceBusy());
        // A stream's round, split where the host's share shows: its time in the scheduler (waiting for a pass to
        // start, the pass, the acceptance) and the rest of its loop (drafting and sizing the next tree, listeners).
        o.addProperty("step_ms", pass.msPerStep(GenerationStats::verifyNanos));
        o.addProperty("between_steps_ms", pass.msPerStep(s -> s.totalNanos() - s.prefillNanos() - s.verifyNanos()));
        o.addProperty("draft_ms_per_step", pass.msPerStep(GenerationStats::draftNanos));
        // Of the step's time in the scheduler, the wait for its pass to start; and the passes a generation was left
        // out of between two of its steps (its tree not ready yet, or not fitting), each a pass's wait.
        o.addProperty("queue_ms", pass.msPerStep(GenerationStats::queueNanos));
        o.addProperty("missed_passes_per_step", pass.perStep(GenerationStats::missedPasses));
        // Of the level's passes, the share that started because the oldest tree had waited long enough while a
        // running generation's tree was not ready: where the wait is long and this share high, streams wait for
        // stragglers (0 for the single stream, whose trees are always complete).
        o.addProperty("passes_started_by_wait",
                pass.started() == 0 ? 0 : (double) pass.startedByWait() / pass.started());
        // A level meets batch shapes its warm-up did not (trees' sizes differ from run to run), and each costs a
        // capture; their time is in the wall time and in the passes that made them.
        o.addProperty("graph_capture_ms", pass.captureNanos() / 1e6);
        // The datastore has learned the single-stream outputs by now, so aded's acceptance may rise with the level
        // for that reason alone; shown so a reader can tell.
        o.addProperty("mean_accepted_tokens", pass.meanAcceptedTokens());
        return o;
    }

    /** The largest level's figures at the mode's top level, the whole curve beneath them. */
    private static void addConcurrency(JsonObject m, Pass single, JsonArray curve) {
        JsonObject largest = curve.get(curve.size() - 1).getAsJsonObject();
        m.addProperty("single_stream_tokens_per_second", single.tokensPerSecond());
        m.add("aggregate_tokens_per_second", largest.get("aggregate_tokens_per_second"));
        m.add("identical_to_single_stream", largest.get("identical_to_single_stream"));
        m.add("concurrency_curve", curve);
    }

    /** AR runs first so the other modes can be compared with it. */
    private static List<Mode> orderModes(List<String> names) {
        List<Mode> order = new ArrayList<>();
        for (String n : names) {
            Mode m = Mode.parse(n);
            if (!order.contains(m)) {
                order.add(m);
            }
        }
        order.sort(null);
        return order;
    }

    static String table(JsonObject out) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s on %s, %d prompts, %d new tokens%n", out.get("model").getAsString(),
                out.get("device").getAsString(), out.get("prompts").getAsInt(), out.get("max_new_tokens").getAsInt()));
        sb.append(String.format(Locale.ROOT, "%-6s %10s %10s %10s %10s %10s %10s %10s %10s %10s%n", "mode", "tok/s",
                "no-capture", "accepted", "predicted", "nodes", "passes", "draft ms", "verify ms", "=ar"));
        for (Map.Entry<String, com.google.gson.JsonElement> e : out.getAsJsonObject("modes").entrySet()) {
            JsonObject m = e.getValue().getAsJsonObject();
            sb.append(String.format(Locale.ROOT, "%-6s %10.1f %10.1f %10.2f %10s %10.1f %10d %10.3f %10.2f %10s%n",
                    e.getKey(), m.get("tokens_per_second").getAsDouble(),
                    m.get("tokens_per_second_without_captures").getAsDouble(), m.get("mean_accepted_tokens").getAsDouble(),
                    m.has("mean_predicted_tokens") ? String.format(Locale.ROOT, "%.2f",
                            m.get("mean_predicted_tokens").getAsDouble()) : "-",
                    m.get("mean_nodes_per_step").getAsDouble(), m.get("forward_passes").getAsInt(), m.get("draft_ms_per_step").getAsDouble(),
                    m.get("verify_ms_per_step").getAsDouble(),
                    m.has("identical_to_ar") ? m.get("identical_to_ar").getAsInt() + "/" + out.get("prompts") : "-"));
        }
        if (out.has("concurrency")) {
            sb.append(concurrencyTable(out));
        }
        return sb.toString();
    }

    /** One row per mode and level, the single-stream latency beside each level's. */
    private static String concurrencyTable(JsonObject out) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "%n%-6s %8s %10s %7s %10s %10s %8s %10s %10s %10s %10s %6s %8s %6s %8s %8s %8s %8s %7s %7s%n",
                "mode", "clients", "tok/s", "spread", "no-capture", "steady", "speedup", "p50 ms/t", "1-str ms/t",
                "=1-stream", "seqs/pass", "nodes", "pass ms", "busy", "capt ms", "step ms", "queue ms", "rest ms",
                "missed", "waited"));
        for (Map.Entry<String, JsonElement> e : out.getAsJsonObject("modes").entrySet()) {
            for (JsonElement point : e.getValue().getAsJsonObject().getAsJsonArray("concurrency_curve")) {
                JsonObject c = point.getAsJsonObject();
                sb.append(String.format(Locale.ROOT,
                        "%-6s %8d %10.1f %7s %10.1f %10.1f %7.2fx %10.2f %10.2f %10s %10.2f %6.1f %8.3f %6.2f %8.1f"
                                + " %8.3f %8.3f %8.3f %7.2f %7.2f%n",
                        e.getKey(), c.get("concurrency").getAsInt(), c.get("aggregate_tokens_per_second").getAsDouble(),
                        spread(c), c.get("aggregate_tokens_per_second_without_captures").getAsDouble(),
                        optional(c, "steady_tokens_per_second"), c.get("speedup_vs_single_stream").getAsDouble(),
                        c.get("p50_ms_per_token").getAsDouble(),
                        c.get("p50_ms_per_token_single_stream").getAsDouble(),
                        c.get("identical_to_single_stream").getAsInt() + "/" + c.get("requests").getAsInt(),
                        c.get("mean_sequences_per_pass").getAsDouble(), c.get("mean_draft_nodes_per_tree").getAsDouble(),
                        c.get("mean_pass_ms").getAsDouble(), c.get("device_busy").getAsDouble(),
                        c.get("graph_capture_ms").getAsDouble(), optional(c, "step_ms"), optional(c, "queue_ms"),
                        optional(c, "between_steps_ms"), optional(c, "missed_passes_per_step"),
                        optional(c, "passes_started_by_wait")));
            }
        }
        return sb.toString();
    }

    /**
     * How far a level's rounds spread, from the slowest to the fastest against the median, as a percentage; "-" for
     * a level run once.
     */
    private static String spread(JsonObject point) {
        JsonArray rates = point.has("aggregate_tokens_per_second_rounds")
                ? point.getAsJsonArray("aggregate_tokens_per_second_rounds") : new JsonArray();
        if (rates.size() < 2) {
            return "-";
        }
        double[] r = new double[rates.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = rates.get(i).getAsDouble();
        }
        Arrays.sort(r);
        return String.format(Locale.ROOT, "%.0f%%", 100 * (r[r.length - 1] - r[0]) / r[r.length / 2]);
    }

    /** A figure that older bench files lack, as NaN there. */
    private static double optional(JsonObject o, String key) {
        return o.has(key) ? o.get(key).getAsDouble() : Double.NaN;
    }

    /** Tokens per second over {@code nanos}; 0 where no time passed. */
    private static double rate(long tokens, long nanos) {
        return nanos <= 0 ? 0 : tokens * 1e9 / nanos;
    }

    /**
     * One generation as its client saw it, and the CUDA graph captures that ran meanwhile (its own when it ran
     * alone).
     */
    private record Request(GenerationResult result, long startNanos, long wallNanos, long captureNanos) {}

    /**
     * The prompt set run once through one mode: each prompt's request, the wall time over them all, the CUDA graph
     * captures within it (under the device lock, so every generation waited for them), and the generator's passes
     * that started within it, all and those the wait started ({@link Generator.PassCounts}; none counted for the
     * single stream).
     */
    private record Pass(Request[] requests, long wallNanos, long captureNanos, long started, long startedByWait) {
        /** One request after another: the wall time is theirs alone, not the other modes' turns in between. */
        static Pass oneAtATime(Request[] requests) {
            return new Pass(requests, Arrays.stream(requests).mapToLong(Request::wallNanos).sum(),
                    Arrays.stream(requests).mapToLong(Request::captureNanos).sum(), 0, 0);
        }

        long newTokens() {
            return Arrays.stream(requests).mapToLong(r -> r.result().stats().newTokens()).sum();
        }

        double tokensPerSecond() {
            return rate(newTokens(), wallNanos);
        }

        /**
         * Tokens per second while each of {@code clients} clients, taking the requests in order, had one in flight:
         * from the start of the last client's first request to the start of the last request, after which clients
         * run out of prompts one by one. Each request's tokens count in proportion to its time within that window
         * (its prefill, at its start, makes none: a small bias). 0 when the window is empty.
         */
        double steadyTokensPerSecond(int clients) {
            long from = Long.MIN_VALUE;
            for (int i = 0; i < Math.min(clients, requests.length); i++) {
                from = Math.max(from, requests[i].startNanos());
            }
            long to = requests[requests.length - 1].startNanos();
            if (to <= from) {
                return 0;
            }
            double tokens = 0;
            for (Request r : requests) {
                long overlap = Math.min(r.startNanos() + r.wallNanos(), to) - Math.max(r.startNanos(), from);
                if (overlap > 0) {
                    tokens += (double) r.result().stats().newTokens() * overlap / r.wallNanos();
                }
            }
            return tokens * 1e9 / (to - from);
        }

        /**
         * Tokens per second with the level's graph captures left out of its wall time: every generation waits for a
         * capture (it holds the device), and which shapes a level meets first varies from run to run and code to
         * code, so this is the rate to compare two runs by.
         */
        double tokensPerSecondWithoutCaptures() {
            return rate(newTokens(), wallNanos - captureNanos);
        }

        /** The median over requests of wall time per new token; requests that produced none have no such rate. */
        double p50MsPerToken() {
            double[] ms = Arrays.stream(requests).filter(r -> r.result().stats().newTokens() > 0)
                    .mapToDouble(r -> r.wallNanos() / 1e6 / r.result().stats().newTokens()).sorted().toArray();
            if (ms.length == 0) {
                return 0;
            }
            return ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        }

        /** Weighted by steps, so that it is the mean batch of the forward passes these requests took part in. */
        double meanSequencesPerPass() {
            return meanPerStep(GenerationStats::sequencesPerStep);
        }

        /** The forward passes these requests took part in: each step counts as its share of its pass. */
        double passes() {
            double passes = 0;
            for (Request r : requests) {
                for (int sequences : r.result().stats().sequencesPerStep()) {
                    passes += 1.0 / sequences;
                }
            }
            return passes;
        }

        long passNanos() {
            return Arrays.stream(requests).mapToLong(r -> r.result().stats().passShareNanos()).sum();
        }

        /** A pass's time, from its start until its results were back, averaged over the passes. */
        double meanPassMs() {
            double passes = passes();
            return passes == 0 ? 0 : passNanos() / 1e6 / passes;
        }

        /**
         * The share of the wall time that passes ran: near 1 when the device bounds the throughput, lower when the
         * host work between passes (drafting, acceptance, hand-overs) does.
         */
        double deviceBusy() {
            return wallNanos == 0 ? 0 : (double) passNanos() / wallNanos;
        }

        /** A time each generation records, over the steps of these requests, in ms. */
        double msPerStep(ToLongFunction<GenerationStats> nanos) {
            return perStep(nanos) / 1e6;
        }

        /** A count each generation records, over the steps of these requests. */
        double perStep(ToLongFunction<GenerationStats> count) {
            long steps = Arrays.stream(requests).mapToLong(r -> r.result().stats().steps()).sum();
            long sum = Arrays.stream(requests).mapToLong(r -> count.applyAsLong(r.result().stats())).sum();
            return steps == 0 ? 0 : (double) sum / steps;
        }

        double meanAcceptedTokens() {
            long steps = Arrays.stream(requests).mapToLong(r -> r.result().stats().steps()).sum();
            return steps == 0 ? 0 : (double) newTokens() / steps;
        }

        /** Draft nodes a tree held, the root not counted, over the steps of these requests. */
        double meanDraftNodes() {
            return meanPerStep(GenerationStats::nodesPerStep);
        }

        /** The mean over every step of these requests of a figure each step records. */
        private double meanPerStep(Function<GenerationStats, int[]> perStep) {
            long steps = 0;
            long sum = 0;
            for (Request r : requests) {
                steps += r.result().stats().steps();
                sum += Arrays.stream(perStep.apply(r.result().stats())).sum();
            }
            return steps == 0 ? 0 : (double) sum / steps;
        }

        /** Requests whose output equals that of {@code other}'s request of the same prompt (cycled, see above). */
        int identicalTo(Pass other) {
            int same = 0;
            for (int i = 0; i < requests.length; i++) {
                same += Arrays.equals(requests[i].result().tokens(),
                        other.requests[i % other.requests.length].result().tokens()) ? 1 : 0;
            }
            return same;
        }

        int[][] outputs() {
            return Arrays.stream(requests).map(r -> r.result().tokens()).toArray(int[][]::new);
        }
    }

    /** Sums one mode's statistics over all prompts. */
    private static final class ModeRun {
        /** Bins of predicted tokens per step, for the calibration table: [1, 1.5), [1.5, 2), … */
        private static final double BIN = 0.5;

        private long newTokens;
        private long steps;
        private long nodes;
        private long draftNanos;
        private long verifyNanos;
        private long totalNanos;
        private long prefillNanos;
        private long captureNanos;
        private int requests;
        private long[] histogram = new long[2];
        private final ByStep accepted = new ByStep();
        private final ByStep verified = new ByStep();
        private final ByStep predicted = new ByStep();
        private final ByStep predictedInBin = new ByStep();
        private final ByStep actualInBin = new ByStep();

        void add(GenerationStats s, long captureNanos) {
            this.captureNanos += captureNanos;
            newTokens += s.newTokens();
            steps += s.steps();
            draftNanos += s.draftNanos();
            verifyNanos += s.verifyNanos();
            totalNanos += s.totalNanos();
            prefillNanos += s.prefillNanos();
            requests++;
            int[] per = s.acceptedPerStep();
            int[] nodesPer = s.nodesPerStep();
            double[] predictedPer = s.predictedPerStep();
            for (int i = 0; i < per.length; i++) {
                if (per[i] >= histogram.length) {
                    histogram = Arrays.copyOf(histogram, per[i] + 1);
                }
                histogram[per[i]]++;
                accepted.add(i, per[i]);
                verified.add(i, nodesPer[i]);
                nodes += nodesPer[i];
            }
            for (int i = 0; i < predictedPer.length; i++) {
                predicted.add(i, predictedPer[i]);
                int bin = (int) ((predictedPer[i] - 1) / BIN);
                predictedInBin.add(bin, predictedPer[i]);
                actualInBin.add(bin, per[i]);
            }
        }

        JsonObject toJson() {
            JsonObject m = new JsonObject();
            m.addProperty("tokens_per_second", rate(newTokens, totalNanos));
            m.addProperty("mean_accepted_tokens", steps == 0 ? 0 : (double) newTokens / steps);
            m.addProperty("forward_passes", steps);
            m.addProperty("mean_nodes_per_step", steps == 0 ? 0 : (double) nodes / steps);
            m.addProperty("draft_ms_per_step", steps == 0 ? 0 : draftNanos / 1e6 / steps);
            m.addProperty("verify_ms_per_step", steps == 0 ? 0 : verifyNanos / 1e6 / steps);
            m.addProperty("new_tokens", newTokens);
            m.addProperty("total_ms", totalNanos / 1e6);
            // Part of total_ms, alike in every mode: it narrows the modes' ratios the more, the shorter the outputs.
            m.addProperty("prefill_ms_per_request", requests == 0 ? 0 : prefillNanos / 1e6 / requests);
            // A first-use cost inside total_ms: each CUDA graph is captured by the first mode to meet its shape (ar,
            // which runs first on each prompt, for the prefill chunks), so the rate without it compares modes.
            m.addProperty("graph_capture_ms", captureNanos / 1e6);
            m.addProperty("tokens_per_second_without_captures", rate(newTokens, totalNanos - captureNanos));
            m.add("accepted_histogram", new Gson().toJsonTree(histogram));
            m.add("accepted_by_step", new Gson().toJsonTree(accepted.means()));
            m.add("nodes_by_step", new Gson().toJsonTree(verified.means()));
            if (predicted.total() > 0) {
                m.addProperty("mean_predicted_tokens", predicted.sum() / predicted.total());
                m.add("predicted_by_step", new Gson().toJsonTree(predicted.means()));
                JsonArray bins = new JsonArray();
                double[] meanPredicted = predictedInBin.means();
                double[] meanActual = actualInBin.means();
                for (int b = 0; b < meanPredicted.length; b++) {
                    if (predictedInBin.count(b) > 0) {
                        JsonObject bin = new JsonObject();
                        bin.addProperty("from", 1 + b * BIN);
                        bin.addProperty("steps", predictedInBin.count(b));
                        bin.addProperty("mean_predicted", meanPredicted[b]);
                        bin.addProperty("mean_actual", meanActual[b]);
                        bins.add(bin);
                    }
                }
                m.add("prediction_calibration", bins);
            }
            return m;
        }
    }

    /** Sums and counts of a value by index (step index, or bin), growing as needed. */
    private static final class ByStep {
        private double[] sums = new double[0];
        private int[] counts = new int[0];

        void add(int i, double v) {
            if (i >= sums.length) {
                sums = Arrays.copyOf(sums, i + 1);
                counts = Arrays.copyOf(counts, i + 1);
            }
            sums[i] += v;
            counts[i]++;
        }

        int count(int i) {
            return counts[i];
        }

        double sum() {
            return Arrays.stream(sums).sum();
        }

        long total() {
            return Arrays.stream(counts).asLongStream().sum();
        }

        /** The mean at each index, 0 where nothing was added. */
        double[] means() {
            double[] out = new double[sums.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = counts[i] == 0 ? 0 : sums[i] / counts[i];
            }
            return out;
        }
    }
}
