package dev.aded.examples.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.TokenLogprobs;
import dev.aded.core.text.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One prompt in, the continuation on stdout as it is generated, the statistics on stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue one prompt; text to stdout, statistics to stderr (or everything as JSON).")
final class GenerateCommand implements Callable<Integer> {
    private static final Gson GSON = new Gson();

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt (default: a Python function head)")
    String prompt = "def fibonacci(n):\n";

    @Option(names = "--json", description = "print the text, tokens and statistics as one JSON object")
    boolean json;

    @Option(names = "--logprobs", paramLabel = "K",
            description = "report each token's log-probability and the K likeliest tokens there (0 to 20)")
    Integer logprobs;

    @Option(names = {"-n", "--num-sequences"}, paramLabel = "N", defaultValue = "1",
            description = "independent samples of the prompt (needs --temperature above 0)")
    int sequences;

    @Override
    public Integer call() {
        GenerationConfig config = sampling.config();
        if (logprobs != null) {
            config = config.toBuilder().logprobs(true).topLogprobs(logprobs).build();
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Generator p = model.open()) {
            if (json) {
                List<GenerationResult> results = p.generateN(prompt, config, sequences);
                JsonObject o = header(p);
                if (sequences == 1) {
                    addResult(o, results.get(0), p.tokenizer());
                } else {
                    JsonArray all = new JsonArray();
                    for (GenerationResult r : results) {
                        JsonObject one = new JsonObject();
                        addResult(one, r, p.tokenizer());
                        all.add(one);
                    }
                    o.add("sequences", all);
                }
                out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(o));
            } else if (sequences == 1) {
                GenerationResult r = p.generate(prompt, config, piece -> out.print(piece));
                out.println();
                report(r, p.tokenizer());
            } else {
                List<GenerationResult> results = p.generateN(prompt, config, sequences);
                for (int i = 0; i < results.size(); i++) {
                    out.printf("--- sequence %d of %d%n%s%n", i + 1, sequences, results.get(i).text());
                    report(results.get(i), p.tokenizer());
                }
            }
        }
        return 0;
    }

    /** The statistics line and, when asked for, one line per token with its log-probability, on stderr. */
    private static void report(GenerationResult r, Tokenizer tokenizer) {
        for (TokenLogprobs t : r.logprobs()) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%7d %-18s %9.4f",
                    t.token(), GSON.toJson(piece(tokenizer, t.token())), t.logprob()));
            for (TokenLogprobs.Alternative a : t.top()) {
                line.append(String.format(Locale.ROOT, "  %s %.4f", GSON.toJson(piece(tokenizer, a.token())),
                        a.logprob()));
            }
            System.err.println(line);
        }
        System.err.println(r.stats() + ", finish: " + r.finishReason().name().toLowerCase(Locale.ROOT));
    }

    private static JsonObject header(Generator p) {
        JsonObject o = new JsonObject();
        o.addProperty("model", p.model().name());
        o.addProperty("device", p.model().device());
        return o;
    }

    private static void addResult(JsonObject o, GenerationResult r, Tokenizer tokenizer) {
        o.addProperty("text", r.text());
        o.add("tokens", GSON.toJsonTree(r.tokens()));
        o.addProperty("finish_reason", r.finishReason().name().toLowerCase(Locale.ROOT));
        if (!r.logprobs().isEmpty()) {
            JsonArray logprobs = new JsonArray();
            for (TokenLogprobs t : r.logprobs()) {
                JsonObject entry = logprob(t.token(), t.logprob(), tokenizer);
                JsonArray top = new JsonArray();
                for (TokenLogprobs.Alternative a : t.top()) {
                    top.add(logprob(a.token(), a.logprob(), tokenizer));
                }
                entry.add("top", top);
                logprobs.add(entry);
            }
            o.add("logprobs", logprobs);
        }
        o.add("stats", StatsJson.of(r.stats()));
    }

    private static JsonObject logprob(int token, double logprob, Tokenizer tokenizer) {
        JsonObject o = new JsonObject();
        o.addProperty("token", token);
        o.addProperty("text", piece(tokenizer, token));
        o.addProperty("logprob", logprob);
        return o;
    }

    /** One token's text on its own (a piece of a multi-byte character shows as the replacement character). */
    private static String piece(Tokenizer tokenizer, int token) {
        return tokenizer.decode(new int[] {token}, 0, 1);
    }
}
