package dev.aded.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code aded bench --concurrency} on the embedded model on the CPU: the curve in the JSON, table and report. */
class BenchConcurrencyTest {

    @Test
    void reportsTheConcurrencyCurveAndGreedyOutputsMatchTheSingleStream(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        CliUsageTest.Run r = CliUsageTest.run("bench", "--prompts", "data/code-dev.jsonl", "--limit", "3",
                "--max-new-tokens", "16", "--modes", "ar,aded", "--concurrency", "1,3", "--max-pass-nodes", "96",
                "--rounds", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err());

        JsonObject out = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
        assertEquals(JsonParser.parseString("[1, 3]"), out.get("concurrency"));
        assertEquals(96, out.get("max_pass_nodes").getAsInt(), "the pass node budget the run was given");
        assertEquals(2, out.get("rounds").getAsInt());
        assertTrue(out.get("shared_pass_slope").getAsDouble() > 0, "the sizer's price of a node in a batched pass");
        for (String mode : new String[] {"ar", "aded"}) {
            JsonObject m = out.getAsJsonObject("modes").getAsJsonObject(mode);
            assertTrue(m.has("tokens_per_second") && m.has("identical_to_ar"), mode + ": existing fields kept");
            assertTrue(m.get("aggregate_tokens_per_second").getAsDouble() > 0, mode);
            assertTrue(m.get("single_stream_tokens_per_second").getAsDouble() > 0, mode);
            assertTrue(m.has("identical_to_single_stream"), mode);
            assertTrue(m.get("prefill_ms_per_request").getAsDouble() > 0, mode);
            assertEquals(0, m.get("graph_capture_ms").getAsDouble(), mode + ": no CUDA graphs on the CPU");
            assertEquals(m.get("tokens_per_second").getAsDouble(),
                    m.get("tokens_per_second_without_captures").getAsDouble(), 1e-9, mode);
            JsonArray curve = m.getAsJsonArray("concurrency_curve");
            assertEquals(2, curve.size(), mode);
            for (int i = 0; i < curve.size(); i++) {
                JsonObject point = curve.get(i).getAsJsonObject();
                assertEquals(i == 0 ? 1 : 3, point.get("concurrency").getAsInt(), mode);
                // 3 prompts: the single stream runs each once, 3 clients 4 requests each, the prompts cycled.
                assertEquals(i == 0 ? 3 : 12, point.get("requests").getAsInt(), mode);
                // Level 3 ran twice, and its point is the run of median rate (of two, the faster); the single
                // stream once.
                JsonArray rounds = point.getAsJsonArray("aggregate_tokens_per_second_rounds");
                assertEquals(i == 0 ? 1 : 2, rounds.size(), mode);
                double fastest = 0;
                for (int k = 0; k < rounds.size(); k++) {
                    fastest = Math.max(fastest, rounds.get(k).getAsDouble());
                }
                assertEquals(fastest, point.get("aggregate_tokens_per_second").getAsDouble(), 1e-9, mode);
                assertTrue(point.get("mean_draft_nodes_per_tree").getAsDouble() >= 0, mode);
                assertEquals(0, point.get("graph_capture_ms").getAsDouble(), mode + ": no CUDA graphs on the CPU");
                assertEquals(point.get("aggregate_tokens_per_second").getAsDouble(),
                        point.get("aggregate_tokens_per_second_without_captures").getAsDouble(), 1e-9, mode);
                for (String field : new String[] {"aggregate_tokens_per_second", "speedup_vs_single_stream",
                    "p50_ms_per_token", "p50_ms_per_token_single_stream", "mean_sequences_per_pass", "mean_pass_ms",
                    "device_busy", "step_ms", "between_steps_ms", "steady_tokens_per_second"}) {
                    assertTrue(point.get(field).getAsDouble() > 0, mode + " at " + point.get("concurrency") + ": "
                            + field);
                }
                if (i == 0) {
                    assertEquals(point.get("aggregate_tokens_per_second").getAsDouble(),
                            point.get("steady_tokens_per_second").getAsDouble(), 1e-9, mode + ": one stream is steady");
                }
                assertTrue(point.get("step_ms").getAsDouble() >= point.get("mean_pass_ms").getAsDouble()
                        / point.get("mean_sequences_per_pass").getAsDouble(), mode + ": a step waits at least its"
                        + " share of its pass");
                assertEquals(mode.equals("ar"), point.get("draft_ms_per_step").getAsDouble() == 0, mode + ": drafting");
                double queue = point.get("queue_ms").getAsDouble();
                assertTrue(queue >= 0 && queue <= point.get("step_ms").getAsDouble(), mode + ": the wait is part of"
                        + " the step: " + queue);
                double waited = point.get("passes_started_by_wait").getAsDouble();
                assertTrue(point.get("concurrency").getAsInt() == 1 ? waited == 0 : waited >= 0 && waited <= 1,
                        mode + ": a share of the passes, none for a lone stream: " + waited);
                double missed = point.get("missed_passes_per_step").getAsDouble();
                assertTrue(point.get("concurrency").getAsInt() == 1 ? missed == 0 : missed >= 0,
                        mode + ": a lone stream misses no pass: " + missed);
            }
            assertEquals(1.0, curve.get(0).getAsJsonObject().get("speedup_vs_single_stream").getAsDouble(), 1e-9,
                    "concurrency 1 is the single-stream run");
            for (int i = 0; i < curve.size(); i++) {
                double busy = curve.get(i).getAsJsonObject().get("device_busy").getAsDouble();
                assertTrue(busy <= 1.0, mode + ": passes run one at a time, so they fill at most the wall time: " + busy);
            }
        }
        // Greedy plain decoding must not depend on which generations share a forward pass.
        assertEquals(12, out.getAsJsonObject("modes").getAsJsonObject("ar").get("identical_to_single_stream").getAsInt());

        assertTrue(r.out().contains("clients") && r.out().contains("=1-stream") && r.out().contains("spread"),
                r.out());
        String html = Files.readString(dir.resolve("bench.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("Aggregate tokens per second by concurrency"), "the concurrency chart");
    }
}
