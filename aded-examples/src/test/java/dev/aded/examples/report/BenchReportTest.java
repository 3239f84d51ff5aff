package dev.aded.examples.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The bench report on a realistic three-mode bench result: charts, proportions, escaping, no network. */
class BenchReportTest {
    private static final Pattern SVG = Pattern.compile("<svg.*?</svg>", Pattern.DOTALL);
    private static final Pattern BAR_HEIGHT = Pattern.compile("<rect class=\"bar\"[^>]* height=\"([0-9.]+)\"");
    private static final Pattern POINTS = Pattern.compile("<polyline[^>]* points=\"([^\"]*)\"");

    /** What {@code aded bench} writes for 4 prompts of 128 tokens: ar, pld, then aded with one near tie. */
    private static final String BENCH = """
            {"model": "tiny<&>\\"model", "device": "cpu()", "prompts": 4, "max_new_tokens": 128,
             "modes": {
              "ar": {"tokens_per_second": 142.5, "mean_accepted_tokens": 1.0, "forward_passes": 512,
                     "draft_ms_per_step": 0.0, "verify_ms_per_step": 6.9, "new_tokens": 512, "total_ms": 3593.0,
                     "accepted_histogram": [0, 512], "accepted_by_step": [1, 1, 1, 1, 1, 1, 1, 1],
                     "nodes_by_step": [0, 0, 0, 0, 0, 0, 0, 0],
                     "identical_to_ar": 4, "differences": []},
              "pld": {"tokens_per_second": 198.1, "mean_accepted_tokens": 1.52, "forward_passes": 337,
                      "draft_ms_per_step": 0.012, "verify_ms_per_step": 7.4, "new_tokens": 512, "total_ms": 2584.6,
                      "accepted_histogram": [0, 230, 60, 30, 17], "accepted_by_step": [1, 1.25, 1.5, 1.5, 2, 1.75],
                      "nodes_by_step": [10, 10, 10, 10, 10, 10],
                      "identical_to_ar": 4, "differences": []},
              "aded": {"tokens_per_second": 311.7, "mean_accepted_tokens": 2.46, "forward_passes": 208,
                       "draft_ms_per_step": 0.41, "verify_ms_per_step": 7.6, "new_tokens": 512, "total_ms": 1642.6,
                       "accepted_histogram": [0, 52, 70, 40, 26, 20], "accepted_by_step": [1.5, 2, 2.25, 2.75, 3],
                       "nodes_by_step": [4, 9, 12, 10, 8],
                       "prediction_calibration": [{"from": 1.0, "steps": 40, "mean_predicted": 1.2, "mean_actual": 1.1},
                                                  {"from": 2.5, "steps": 12, "mean_predicted": 2.8, "mean_actual": 3.5}],
                       "identical_to_ar": 3,
                       "differences": [{"prompt": 2, "position": 57, "ar_token": 1187, "token": 903,
                                        "top2_logit_gap": 0.0039}]}}}
            """;

    private final String html = BenchReport.html(JsonParser.parseString(BENCH).getAsJsonObject());
    private final List<String> charts = charts(html);

    @Test
    void drawsFiveCharts() {
        assertEquals(5, charts.size());
        assertEquals(charts.size(), html.split("<svg", -1).length - 1, "no svg outside the five charts");
    }

    @Test
    void nodesVerifiedHaveOneLinePerMode() {
        assertEquals(List.of(8, 6, 5), pointCounts(charts.get(3)));
    }

    @Test
    void calibrationPairsExpectedWithActualTokens() {
        double[] heights = barHeights(charts.get(4));
        assertEquals(4, heights.length, "two bins, expected and actual each");
        assertEquals(1.1 / 1.2, heights[1] / heights[0], 1e-3);
        assertEquals(3.5 / 2.8, heights[3] / heights[2], 1e-3);
        assertTrue(charts.get(4).contains("2.5-3.0"), "bins are labelled by their range");
    }

    @Test
    void speedBarsAreProportionalToTokensPerSecond() {
        double[] heights = barHeights(charts.get(0));
        double[] tps = {142.5, 198.1, 311.7};
        assertEquals(3, heights.length);
        for (int i = 1; i < tps.length; i++) {
            assertEquals(tps[i] / tps[0], heights[i] / heights[0], 1e-3, "bar " + i);
        }
        assertTrue(charts.get(0).contains("311.7 (2.19\u00d7)"), "aded's label carries its speedup over ar");
    }

    @Test
    void histogramBarsAreEachModesShareOfSteps() {
        double[] heights = barHeights(charts.get(1));
        // Columns 1..5 tokens, each with ar, pld, aded in that order; no step produced 0 tokens.
        assertEquals(5 * 3, heights.length);
        double[] adedCounts = {52, 70, 40, 26, 20};
        for (int k = 1; k < adedCounts.length; k++) {
            assertEquals(adedCounts[k] / adedCounts[0], heights[3 * k + 2] / heights[2], 1e-3, "aded column " + k);
        }
        assertEquals(0, heights[3 * 4], 1e-9, "ar never produced 5 tokens in a step");
        assertEquals(1 / (52 / 208.0), heights[0] / heights[2], 1e-3, "ar's 100% against aded's 25%");
    }

    @Test
    void acceptedLengthHasOneSmoothedLinePerMode() {
        assertEquals(List.of(8, 6, 5), pointCounts(charts.get(2)), "one point per step index of each mode");
        assertArrayEquals(new double[] {5.75 / 3, 2.125, 2.3, 2.5, 8.0 / 3},
                BenchReport.movingAverage(new double[] {1.5, 2, 2.25, 2.75, 3}, 2), 1e-12);
    }

    @Test
    void escapesTheModelName() {
        assertTrue(html.contains("tiny&lt;&amp;&gt;&quot;model"));
        assertFalse(html.contains("<&>"));
    }

    @Test
    void summaryTableAndDifferencesAreListed() {
        assertTrue(html.contains("<td>aded</td><td class=\"num\">311.7</td><td class=\"num\">2.46</td>"
                + "<td class=\"num\">208</td><td class=\"num\">0.410</td><td class=\"num\">7.60</td>"
                + "<td class=\"num\">3/4</td></tr>"));
        assertTrue(html.contains("prompt 2, new token 57: ar chose 1187, aded chose 903;"
                + " gap between the two best logits 0.0039"));
    }

    @Test
    void needsNoNetworkNorScript() {
        assertFalse(html.contains("http"), "no external URL, not even an xmlns");
        assertFalse(html.contains("<script"));
        assertFalse(html.contains("<link"));
    }

    private static List<String> charts(String html) {
        List<String> found = new ArrayList<>();
        Matcher m = SVG.matcher(html);
        while (m.find()) {
            found.add(m.group());
        }
        return found;
    }

    /** The number of points of each line in a chart. */
    private static List<Integer> pointCounts(String svg) {
        Matcher m = POINTS.matcher(svg);
        List<Integer> counts = new ArrayList<>();
        while (m.find()) {
            counts.add(m.group(1).split(" ").length);
        }
        return counts;
    }

    private static double[] barHeights(String svg) {
        Matcher m = BAR_HEIGHT.matcher(svg);
        List<Double> heights = new ArrayList<>();
        while (m.find()) {
            heights.add(Double.parseDouble(m.group(1)));
        }
        return heights.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
