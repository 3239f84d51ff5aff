package dev.aded.examples.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs every prompt of a JSONL file through each mode, greedy, and reports speed, acceptance and whether each
 * output equals plain decoding's, as JSON, a table and an HTML report with charts. Modes take turns prompt by
 * prompt.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark modes over a JSONL prompt file (field 'prompt'); writes JSON, a table and an HTML"
                + " report.")
final class BenchCommand implements Callable<Integer> {
    private static final String WARM_UP_PROMPT = "import os\n\n\ndef main():\n";

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

    @Override
    public Integer call() throws IOException {
        if (limit != null && limit < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit must be at least 1");
        }
        List<String> texts = readPrompts(prompts, limit);
        List<Mode> order = orderModes(modes);
        try (Generator p = model.open()) {
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
            Map<Mode, GenerationConfig> configs = new LinkedHashMap<>();
            Map<Mode, ModeRun> runs = new LinkedHashMap<>();
            Map<Mode, int[][]> outputs = new LinkedHashMap<>();
            for (Mode mode : order) {
                GenerationConfig config = GenerationConfig.builder().mode(mode).maxNewTokens(maxNewTokens)
                        .treeBudget(treeBudget).build();
                // Warm-up (JIT, allocator) in plain decoding, so no mode's drafter learns from text outside the run.
                p.generate(WARM_UP_PROMPT, config.toBuilder().mode(Mode.AR).maxNewTokens(16).build());
                configs.put(mode, config);
                runs.put(mode, new ModeRun());
                outputs.put(mode, new int[texts.size()][]);
            }
            // Modes take turns on each prompt, so that a machine slowing down or speeding up (a shared host, clock
            // changes) weighs on all of them alike; each mode still sees the prompts in file order, so the adaptive
            // counts learn from the same sequence as in a run of that mode alone.
            for (int i = 0; i < texts.size(); i++) {
                for (Mode mode : order) {
                    GenerationResult r = p.generate(texts.get(i), configs.get(mode), null,
                            new Cancellation());
                    outputs.get(mode)[i] = r.tokens();
                    runs.get(mode).add(r.stats());
                }
                System.err.printf(Locale.ROOT, "\rprompt %d/%d", i + 1, texts.size());
            }
            System.err.println();
            JsonObject byMode = new JsonObject();
            int[][] ar = outputs.get(Mode.AR);
            for (Mode mode : order) {
                JsonObject m = runs.get(mode).toJson();
                if (ar != null) {
                    m.add("differences", NearTies.compare(p, texts, ar, outputs.get(mode)));
                    m.addProperty("identical_to_ar", texts.size() - m.getAsJsonArray("differences").size());
                }
                byMode.add(mode.id(), m);
            }
            out.add("modes", byMode);
            out.addProperty("steps", target.stepMode());
            // Paid once, at the first aded generation, outside its statistics.
            out.addProperty("cost_model_ms", VerifierCostModel.of(p.model()).measuringNanos() / 1e6);
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
        sb.append(String.format(Locale.ROOT, "%-6s %10s %10s %10s %10s %10s %10s %10s %10s%n", "mode", "tok/s",
                "accepted", "predicted", "nodes", "passes", "draft ms", "verify ms", "=ar"));
        for (Map.Entry<String, com.google.gson.JsonElement> e : out.getAsJsonObject("modes").entrySet()) {
            JsonObject m = e.getValue().getAsJsonObject();
            sb.append(String.format(Locale.ROOT, "%-6s %10.1f %10.2f %10s %10.1f %10d %10.3f %10.2f %10s%n",
                    e.getKey(), m.get("tokens_per_second").getAsDouble(), m.get("mean_accepted_tokens").getAsDouble(),
                    m.has("mean_predicted_tokens") ? String.format(Locale.ROOT, "%.2f",
                            m.get("mean_predicted_tokens").getAsDouble()) : "-",
                    m.get("mean_nodes_per_step").getAsDouble(), m.get("forward_passes").getAsInt(), m.get("draft_ms_per_step").getAsDouble(),
                    m.get("verify_ms_per_step").getAsDouble(),
                    m.has("identical_to_ar") ? m.get("identical_to_ar").getAsInt() + "/" + out.get("prompts") : "-"));
        }
        return sb.toString();
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
        private long[] histogram = new long[2];
        private final ByStep accepted = new ByStep();
        private final ByStep verified = new ByStep();
        private final ByStep predicted = new ByStep();
        private final ByStep predictedInBin = new ByStep();
        private final ByStep actualInBin = new ByStep();

        void add(dev.aded.core.GenerationStats s) {
            newTokens += s.newTokens();
            steps += s.steps();
            draftNanos += s.draftNanos();
            verifyNanos += s.verifyNanos();
            totalNanos += s.totalNanos();
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
            m.addProperty("tokens_per_second", totalNanos == 0 ? 0 : newTokens * 1e9 / totalNanos);
            m.addProperty("mean_accepted_tokens", steps == 0 ? 0 : (double) newTokens / steps);
            m.addProperty("forward_passes", steps);
            m.addProperty("mean_nodes_per_step", steps == 0 ? 0 : (double) nodes / steps);
            m.addProperty("draft_ms_per_step", steps == 0 ? 0 : draftNanos / 1e6 / steps);
            m.addProperty("verify_ms_per_step", steps == 0 ? 0 : verifyNanos / 1e6 / steps);
            m.addProperty("new_tokens", newTokens);
            m.addProperty("total_ms", totalNanos / 1e6);
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
