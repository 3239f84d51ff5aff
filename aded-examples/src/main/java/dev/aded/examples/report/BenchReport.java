package dev.aded.examples.report;

import static dev.aded.examples.report.Svg.escape;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bench command's HTML report: one self-contained page (inline SVG and CSS, no script, no network) with the
 * summary table, tokens/s per mode, the histogram of tokens produced per step, the accepted length and the nodes
 * verified over the course of generation, predicted against actual tokens per step where a mode sizes its trees by
 * cost, and the outputs that differ from plain decoding; with concurrency levels, aggregate throughput per level.
 */
public final class BenchReport {
    /** Modes keep their colour in every chart, in bench order (ar, pld, aded). */
    private static final String[] COLORS = {"#7f8c8d", "#e67e22", "#2e6fd8", "#27ae60", "#8e44ad"};
    /** The expectation beside each mode's outcome in the calibration chart. */
    private static final String LIGHT = "#c8d6ee";
    /** Steps on each side of the centred moving average; smooths per-step noise without hiding the trend. */
    private static final int SMOOTHING = 2;
    private static final String STYLE = """
            body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 820px; margin: 2em auto;
                   padding: 0 1em; }
            h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.1em; margin-top: 2em; }
            .meta, figcaption { color: #555; } figure { margin: 1em 0; }
            table { border-collapse: collapse; } th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; }
            td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
            svg { width: 100%; height: auto; background: #fff; }
            svg text { font: 12px system-ui, sans-serif; fill: #333; } svg .title { font-size: 14px; fill: #111; }
            svg .value { font-size: 11px; } svg .axis { fill: #555; }
            svg .grid { stroke: #e5e5e5; } svg .axisline { stroke: #999; }
            svg .line { fill: none; stroke-width: 2; }
            code { background: #f3f3f3; padding: 0 .2em; }
            """;

    private BenchReport() {}

    /** The report page for the JSON object that {@code aded bench} writes. */
    public static String html(JsonObject bench) {
        List<String> modes = new ArrayList<>();
        List<JsonObject> stats = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : bench.getAsJsonObject("modes").entrySet()) {
            modes.add(e.getKey());
            stats.add(e.getValue().getAsJsonObject());
        }
        String title = "ADED bench: " + bench.get("model").getAsString() + " on " + bench.get("device").getAsString();
        StringBuilder page = new StringBuilder();
        page.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(escape(title)).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n")
                .append("<body>\n<h1>").append(escape(title)).append("</h1>\n")
                .append(String.format(Locale.ROOT, "<p class=\"meta\">%d prompts, up to %d new tokens each, greedy."
                        + "</p>%n", bench.get("prompts").getAsInt(), bench.get("max_new_tokens").getAsInt()));
        page.append("<h2>Summary</h2>\n").append(table(bench, modes, stats));
        figure(page, tokensPerSecond(modes, stats), "Generation speed over all prompts (total new tokens / total"
                + " time); the label gives the speedup over ar where ar ran.");
        if (bench.has("concurrency")) {
            concurrency(page, bench.getAsJsonArray("concurrency"), modes, stats);
        }
        figure(page, histogram(modes, stats), "How many tokens each decoding step produced (accepted draft tokens"
                + " plus the model's own next token), as a share of that mode's steps. Plain decoding always"
                + " produces 1.");
        figure(page, byStep(modes, stats, "accepted_by_step", "Accepted length over the course of generation",
                "tokens per step"), String.format(Locale.ROOT, "Mean tokens produced at each step"
                + " index across prompts, centred moving average over %d steps. A rising line is the adaptive"
                + " effect: the datastore learns the text being written. Late steps average over fewer prompts.",
                2 * SMOOTHING + 1));
        if (stats.stream().anyMatch(m -> m.has("nodes_by_step"))) {
            figure(page, byStep(modes, stats, "nodes_by_step", "Draft nodes verified per step", "nodes per step"),
                    String.format(Locale.ROOT, "Mean draft nodes each step verified (the root not counted), centred"
                    + " moving average over %d steps. A cost-aware mode verifies as many of its candidates as pay"
                    + " for their verification time, none when nothing is likely to be accepted.",
                    2 * SMOOTHING + 1));
        }
        for (int i = 0; i < modes.size(); i++) {
            if (stats.get(i).has("prediction_calibration")) {
                figure(page, calibration(modes.get(i), stats.get(i), color(i)), "Steps grouped by the tokens they"
                        + " expected to yield when they chose their tree (bins of 0.5): mean expected (light) and"
                        + " mean actually produced (dark). Bars of equal height mean calibrated estimates; the"
                        + " number above each pair is its steps.");
            }
        }
        page.append(differences(modes, stats));
        return page.append("</body>\n</html>\n").toString();
    }

    private static void figure(StringBuilder page, Svg chart, String caption) {
        page.append("<figure>\n").append(chart).append("<figcaption>").append(escape(caption))
                .append("</figcaption>\n</figure>\n");
    }

    /** The same columns and number formats as the bench command's text table. */
    private static String table(JsonObject bench, List<String> modes, List<JsonObject> stats) {
        StringBuilder t = new StringBuilder("<table>\n<tr><th>mode</th><th class=\"num\">tokens/s</th>"
                + "<th class=\"num\">mean accepted</th><th class=\"num\">forward passes</th>"
                + "<th class=\"num\">draft ms/step</th><th class=\"num\">verify ms/step</th>"
                + "<th class=\"num\">identical to ar</th></tr>\n");
        for (int i = 0; i < modes.size(); i++) {
            JsonObject m = stats.get(i);
            String identical = m.has("identical_to_ar")
                    ? m.get("identical_to_ar").getAsInt() + "/" + bench.get("prompts").getAsInt() : "-";
            t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td class=\"num\">%.1f</td><td class=\"num\">%.2f"
                    + "</td><td class=\"num\">%d</td><td class=\"num\">%.3f</td><td class=\"num\">%.2f</td>"
                    + "<td class=\"num\">%s</td></tr>%n", escape(modes.get(i)),
                    m.get("tokens_per_second").getAsDouble(), m.get("mean_accepted_tokens").getAsDouble(),
                    m.get("forward_passes").getAsLong(), m.get("draft_ms_per_step").getAsDouble(),
                    m.get("verify_ms_per_step").getAsDouble(), identical));
        }
        return t.append("</table>\n").toString();
    }

    /** The concurrency section: each mode's curve as a table and as a chart. */
    private static void concurrency(StringBuilder page, JsonArray levels, List<String> modes, List<JsonObject> stats) {
        page.append("<h2>Concurrency</h2>\n").append(concurrencyTable(modes, stats)).append("<p>Steady tokens/s:"
                + " the rate while every client had a request in flight, leaving out the level's start (prefills"
                + " queueing) and its tail (clients running out of prompts one by one).</p>\n");
        figure(page, aggregateTokensPerSecond(levels, modes, stats), "Aggregate generation speed with that many"
                + " clients at once, each asking for the next prompt as soon as its last one returned (total new"
                + " tokens / wall time over the prompt set). Concurrency 1 is the single-stream run, one prompt at a"
                + " time. The tooltips give the speedup over it.");
    }

    /** The same columns and number formats as the bench command's concurrency table. */
    private static String concurrencyTable(List<String> modes, List<JsonObject> stats) {
        StringBuilder t = new StringBuilder("<table>\n<tr><th>mode</th><th class=\"num\">clients</th>"
                + "<th class=\"num\">tokens/s</th><th class=\"num\">steady tokens/s</th><th class=\"num\">speedup</th>"
                + "<th class=\"num\">p50 ms/token</th><th class=\"num\">single-stream p50 ms/token</th>"
                + "<th class=\"num\">identical to single stream</th><th class=\"num\">sequences per pass</th>"
                + "<th class=\"num\">pass ms</th><th class=\"num\">device busy</th></tr>\n");
        for (int i = 0; i < modes.size(); i++) {
            for (JsonElement e : stats.get(i).getAsJsonArray("concurrency_curve")) {
                JsonObject c = e.getAsJsonObject();
                t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td class=\"num\">%d</td><td class=\"num\">"
                        + "%.1f</td><td class=\"num\">%s</td><td class=\"num\">%.2f\u00d7</td><td class=\"num\">%.2f</td>"
                        + "<td class=\"num\">%.2f</td><td class=\"num\">%d/%d</td><td class=\"num\">%.2f</td>"
                        + "<td class=\"num\">%s</td><td class=\"num\">%s</td></tr>%n", escape(modes.get(i)),
                        c.get("concurrency").getAsInt(),
                        c.get("aggregate_tokens_per_second").getAsDouble(),
                        optional(c, "steady_tokens_per_second", "%.1f"),
                        c.get("speedup_vs_single_stream").getAsDouble(), c.get("p50_ms_per_token").getAsDouble(),
                        c.get("p50_ms_per_token_single_stream").getAsDouble(),
                        c.get("identical_to_single_stream").getAsInt(),
                        // Files from before levels cycled their prompts call the count "prompts".
                        c.get(c.has("requests") ? "requests" : "prompts").getAsInt(),
                        c.get("mean_sequences_per_pass").getAsDouble(), optional(c, "mean_pass_ms", "%.3f"),
                        optional(c, "device_busy", "%.2f")));
            }
        }
        return t.append("</table>\n").toString();
    }

    /** A field's value, or a dash where the file predates it. */
    private static String optional(JsonObject o, String field, String format) {
        return o.has(field) ? String.format(Locale.ROOT, format, o.get(field).getAsDouble()) : "-";
    }

    /**
     * Groups of bars, one group per concurrency level, one bar per mode: its aggregate tokens/s. Bars rather than
     * lines, because levels are few and usually spaced geometrically, and a bar carries a tooltip.
     */
    private static Svg aggregateTokensPerSecond(JsonArray levels, List<String> modes, List<JsonObject> stats) {
        double max = 0;
        for (JsonObject m : stats) {
            for (JsonElement point : m.getAsJsonArray("concurrency_curve")) {
                max = Math.max(max, point.getAsJsonObject().get("aggregate_tokens_per_second").getAsDouble());
            }
        }
        Svg svg = new Svg("Aggregate tokens per second by concurrency", "clients at once", "tokens/s", max);
        svg.legend(modes, colors(modes.size()));
        double slot = (Svg.RIGHT - Svg.LEFT) / Math.max(1, levels.size());
        double barWidth = slot * 0.8 / Math.max(1, modes.size());
        for (int k = 0; k < levels.size(); k++) {
            double left = Svg.LEFT + slot * k + slot * 0.1;
            for (int i = 0; i < modes.size(); i++) {
                JsonObject point = stats.get(i).getAsJsonArray("concurrency_curve").get(k).getAsJsonObject();
                double tps = point.get("aggregate_tokens_per_second").getAsDouble();
                svg.bar(left + barWidth * i, barWidth, tps, color(i), String.format(Locale.ROOT,
                        "%s with %d client%s: %.1f tokens/s (%.2f\u00d7 single stream)", modes.get(i),
                        levels.get(k).getAsInt(), levels.get(k).getAsInt() == 1 ? "" : "s", tps,
                        point.get("speedup_vs_single_stream").getAsDouble()));
            }
            svg.xLabel(Svg.LEFT + slot * (k + 0.5), levels.get(k).getAsString());
        }
        return svg;
    }

    /** One bar per mode. */
    private static Svg tokensPerSecond(List<String> modes, List<JsonObject> stats) {
        double[] tps = new double[modes.size()];
        double max = 0;
        for (int i = 0; i < tps.length; i++) {
            tps[i] = stats.get(i).get("tokens_per_second").getAsDouble();
            max = Math.max(max, tps[i]);
        }
        int ar = modes.indexOf("ar");
        Svg svg = new Svg("Tokens per second", "mode", "tokens/s", max);
        double slot = (Svg.RIGHT - Svg.LEFT) / Math.max(1, tps.length);
        for (int i = 0; i < tps.length; i++) {
            double centre = Svg.LEFT + slot * (i + 0.5);
            String label = String.format(Locale.ROOT, "%.1f", tps[i]);
            if (ar >= 0 && i != ar && tps[ar] > 0) {
                label += String.format(Locale.ROOT, " (%.2f\u00d7)", tps[i] / tps[ar]);
            }
            svg.bar(centre - slot * 0.3, slot * 0.6, tps[i], color(i), modes.get(i) + ": " + label + " tokens/s");
            svg.valueLabel(centre, tps[i], label);
            svg.xLabel(centre, modes.get(i));
        }
        return svg;
    }

    /** Groups of bars, one group per number of tokens produced, one bar per mode: the share of its steps. */
    private static Svg histogram(List<String> modes, List<JsonObject> stats) {
        List<double[]> shares = new ArrayList<>();
        int longest = 0;
        boolean anyEmptyStep = false;
        double max = 0;
        for (JsonObject m : stats) {
            double[] counts = doubles(m.getAsJsonArray("accepted_histogram"));
            double total = 0;
            for (double c : counts) {
                total += c;
            }
            for (int k = 0; k < counts.length; k++) {
                counts[k] = total == 0 ? 0 : 100 * counts[k] / total;
                max = Math.max(max, counts[k]);
            }
            shares.add(counts);
            longest = Math.max(longest, counts.length - 1);
            anyEmptyStep |= counts.length > 0 && counts[0] > 0;
        }
        // A step always yields the model's own token, so the 0 column is shown only when some step yielded none.
        int first = anyEmptyStep ? 0 : 1;
        Svg svg = new Svg("Tokens produced per step", "tokens produced in one step", "% of steps", max);
        svg.legend(modes, colors(modes.size()));
        double slot = (Svg.RIGHT - Svg.LEFT) / Math.max(1, longest - first + 1);
        double barWidth = slot * 0.8 / Math.max(1, modes.size());
        for (int k = first; k <= longest; k++) {
            double left = Svg.LEFT + slot * (k - first) + slot * 0.1;
            for (int i = 0; i < modes.size(); i++) {
                double[] s = shares.get(i);
                double share = k < s.length ? s[k] : 0;
                svg.bar(left + barWidth * i, barWidth, share, color(i), String.format(Locale.ROOT,
                        "%s: %.1f%% of steps produced %d token%s", modes.get(i), share, k, k == 1 ? "" : "s"));
            }
            svg.xLabel(Svg.LEFT + slot * (k - first + 0.5), Integer.toString(k));
        }
        return svg;
    }

    /** One line per mode over the step index, smoothed: the per-step means under {@code key}. */
    private static Svg byStep(List<String> modes, List<JsonObject> stats, String key, String title, String yLabel) {
        List<double[]> lines = new ArrayList<>();
        int steps = 0;
        double max = 0;
        for (JsonObject m : stats) {
            double[] line = m.has(key) ? movingAverage(doubles(m.getAsJsonArray(key)), SMOOTHING) : new double[0];
            for (double v : line) {
                max = Math.max(max, v);
            }
            lines.add(line);
            steps = Math.max(steps, line.length);
        }
        Svg svg = new Svg(title, "step index", yLabel, max);
        svg.legend(modes, colors(modes.size()));
        double dx = (Svg.RIGHT - Svg.LEFT) / Math.max(1, steps - 1);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).length > 0) {
                svg.line(lines.get(i), Svg.LEFT, dx, color(i));
            }
        }
        int every = (int) Svg.niceCeiling(Math.max(1, steps / 8.0));
        for (int s = 0; s < steps; s += every) {
            svg.xLabel(Svg.LEFT + s * dx, Integer.toString(s));
        }
        return svg;
    }

    /** One pair of bars per bin of expected tokens: the bin's mean expectation and its mean outcome. */
    private static Svg calibration(String mode, JsonObject m, String color) {
        JsonArray bins = m.getAsJsonArray("prediction_calibration");
        double max = 0;
        for (JsonElement e : bins) {
            JsonObject b = e.getAsJsonObject();
            max = Math.max(max, Math.max(b.get("mean_predicted").getAsDouble(), b.get("mean_actual").getAsDouble()));
        }
        Svg svg = new Svg(mode + ": expected and actual tokens per step", "expected tokens when the tree was chosen",
                "tokens per step", max);
        svg.legend(List.of("expected", "actual"), List.of(LIGHT, color));
        double slot = (Svg.RIGHT - Svg.LEFT) / Math.max(1, bins.size());
        for (int i = 0; i < bins.size(); i++) {
            JsonObject b = bins.get(i).getAsJsonObject();
            double left = Svg.LEFT + slot * i + slot * 0.1;
            double width = slot * 0.4;
            double predicted = b.get("mean_predicted").getAsDouble();
            double actual = b.get("mean_actual").getAsDouble();
            double from = b.get("from").getAsDouble();
            String range = String.format(Locale.ROOT, "%.1f-%.1f", from, from + 0.5);
            svg.bar(left, width, predicted, LIGHT, String.format(Locale.ROOT, "%s: %d steps expected %.2f tokens",
                    range, b.get("steps").getAsInt(), predicted));
            svg.bar(left + width, width, actual, color, String.format(Locale.ROOT, "%s: %d steps produced %.2f"
                    + " tokens", range, b.get("steps").getAsInt(), actual));
            svg.valueLabel(left + width, Math.max(predicted, actual), Integer.toString(b.get("steps").getAsInt()));
            svg.xLabel(left + width, range);
        }
        return svg;
    }

    /** Per mode, the prompts whose output differs from ar's, with the logit gap that explains a near tie. */
    private static String differences(List<String> modes, List<JsonObject> stats) {
        StringBuilder d = new StringBuilder("<h2>Differences from plain decoding</h2>\n");
        boolean any = false;
        for (int i = 0; i < modes.size(); i++) {
            JsonArray diffs = stats.get(i).getAsJsonArray("differences");
            if (diffs == null || diffs.isEmpty()) {
                continue;
            }
            any = true;
            d.append("<p>").append(escape(modes.get(i))).append(":</p>\n<ul>\n");
            for (JsonElement e : diffs) {
                JsonObject o = e.getAsJsonObject();
                d.append(String.format(Locale.ROOT, "<li>prompt %d, new token %d: ar chose %d, %s chose %d;"
                        + " gap between the two best logits %.4f</li>%n", o.get("prompt").getAsInt(),
                        o.get("position").getAsInt(), o.get("ar_token").getAsInt(), escape(modes.get(i)),
                        o.get("token").getAsInt(), o.get("top2_logit_gap").getAsDouble()));
            }
            d.append("</ul>\n");
        }
        if (any) {
            return d.append("<p class=\"meta\">A gap near zero is a near tie that rounding may break either way in"
                    + " the tree pass and the single-token pass (most often in f16 on a GPU); a large gap would"
                    + " mean a bug.</p>\n")
                    .toString();
        }
        boolean compared = stats.stream().anyMatch(m -> m.has("identical_to_ar"));
        return d.append(compared ? "<p>None: every output equals plain decoding's.</p>\n"
                : "<p>Not compared: the bench ran without the ar mode.</p>\n").toString();
    }

    /** Each value replaced by the mean of those within {@code radius} steps of it (fewer at the ends). */
    static double[] movingAverage(double[] v, int radius) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int from = Math.max(0, i - radius);
            int to = Math.min(v.length - 1, i + radius);
            double sum = 0;
            for (int j = from; j <= to; j++) {
                sum += v[j];
            }
            out[i] = sum / (to - from + 1);
        }
        return out;
    }

    private static double[] doubles(JsonArray a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsDouble();
        }
        return v;
    }

    private static String color(int i) {
        return COLORS[i % COLORS.length];
    }

    private static List<String> colors(int n) {
        List<String> c = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            c.add(color(i));
        }
        return c;
    }
}
