package dev.aded.examples.server;

import dev.aded.core.Generator;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/** The server's counters, written in Prometheus' text format at {@code /metrics}. */
final class Metrics {
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> completionTokens = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> passes = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> accepted = new ConcurrentHashMap<>();
    private final Map<String, DoubleAdder> seconds = new ConcurrentHashMap<>();
    private final LongAdder promptTokens = new LongAdder();
    private final IntSupplier queueDepth;
    private final IntSupplier running;
    private final Supplier<Generator.PassCounts> scheduler;

    Metrics(IntSupplier queueDepth, IntSupplier running, Supplier<Generator.PassCounts> scheduler) {
        this.queueDepth = queueDepth;
        this.running = running;
        this.scheduler = scheduler;
    }

    void request(String endpoint, int status) {
        count(requests, "endpoint=\"" + endpoint + "\",status=\"" + status + "\"", 1);
    }

    void error(String kind) {
        count(errors, "kind=\"" + kind + "\"", 1);
    }

    void prompt(int tokens) {
        promptTokens.add(tokens);
    }

    /** One forward pass of a generation in {@code mode} added {@code tokens} tokens. */
    void pass(String mode, int tokens) {
        count(passes, mode(mode), 1);
        count(accepted, mode(mode), tokens);
    }

    void generation(String mode, int tokens, long nanos) {
        count(completionTokens, mode(mode), tokens);
        seconds.computeIfAbsent(mode(mode), k -> new DoubleAdder()).add(nanos / 1e9);
    }

    String render() {
        StringBuilder out = new StringBuilder();
        family(out, "aded_requests_total", "counter", "Requests answered, by endpoint and HTTP status.", requests);
        family(out, "aded_errors_total", "counter", "Requests refused or failed, by kind.", errors);
        header(out, "aded_prompt_tokens_total", "counter", "Prompt tokens of the generations run.");
        out.append("aded_prompt_tokens_total ").append(promptTokens.sum()).append('\n');
        family(out, "aded_completion_tokens_total", "counter", "Tokens generated, by mode.", completionTokens);
        family(out, "aded_forward_passes_total", "counter", "Forward passes over draft trees, by mode.", passes);
        Map<String, Double> secs = new TreeMap<>();
        seconds.forEach((k, v) -> secs.put(k, v.sum()));
        header(out, "aded_generation_seconds_total", "counter", "Time spent generating, summed over requests.");
        secs.forEach((k, v) -> sample(out, "aded_generation_seconds_total", k, v));
        header(out, "aded_tokens_per_second", "gauge",
                "Tokens generated per second of generating, one request's view, by mode (since start).");
        secs.forEach((k, v) -> sample(out, "aded_tokens_per_second", k, v == 0 ? 0 : sum(completionTokens, k) / v));
        header(out, "aded_accepted_tokens_per_pass", "gauge",
                "Mean tokens added to the output per forward pass, by mode (since start); 1 for ar.");
        new TreeMap<>(passes).forEach((k, v) -> sample(out, "aded_accepted_tokens_per_pass", k,
                (double) sum(accepted, k) / v.sum()));
        header(out, "aded_queue_depth", "gauge", "Requests waiting for a running slot.");
        out.append("aded_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        header(out, "aded_running_requests", "gauge", "Requests generating now.");
        out.append("aded_running_requests ").append(running.getAsInt()).append('\n');
        Generator.PassCounts passes = scheduler.get();
        header(out, "aded_scheduler_passes_total", "counter",
                "Forward passes the step scheduler ran, each over the trees of the generations ready for it.");
        out.append("aded_scheduler_passes_total ").append(passes.passes()).append('\n');
        header(out, "aded_scheduler_passes_started_by_wait_total", "counter",
                "Of them, those that started when the oldest tree had waited long enough, a running generation's"
                        + " tree not ready.");
        out.append("aded_scheduler_passes_started_by_wait_total ").append(passes.startedByWait()).append('\n');
        return out.toString();
    }

    private static String mode(String mode) {
        return "mode=\"" + mode + "\"";
    }

    private static void count(Map<String, LongAdder> family, String labels, long n) {
        family.computeIfAbsent(labels, k -> new LongAdder()).add(n);
    }

    private static long sum(Map<String, LongAdder> family, String labels) {
        LongAdder a = family.get(labels);
        return a == null ? 0 : a.sum();
    }

    private static void family(StringBuilder out, String name, String type, String help, Map<String, LongAdder> f) {
        header(out, name, type, help);
        new TreeMap<>(f).forEach((labels, v) -> out.append(name).append('{').append(labels).append("} ")
                .append(v.sum()).append('\n'));
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String labels, double v) {
        out.append(name).append('{').append(labels).append("} ").append(String.format(Locale.ROOT, "%.4f", v))
                .append('\n');
    }
}
