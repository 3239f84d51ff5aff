package dev.aded.examples.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One prompt in, the continuation on stdout as it is generated, the statistics on stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue one prompt; text to stdout, statistics to stderr (or everything as JSON).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt (default: a Python function head)")
    String prompt = "def fibonacci(n):\n";

    @Option(names = "--json", description = "print the text, tokens and statistics as one JSON object")
    boolean json;

    @Override
    public Integer call() {
        GenerationConfig config = sampling.config();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Generator p = model.open()) {
            GenerationResult r = json ? p.generate(prompt, config)
                    : p.generate(prompt, config, piece -> out.print(piece));
            if (json) {
                out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create()
                        .toJson(toJson(r, p)));
            } else {
                out.println();
                System.err.println(r.stats() + ", finish: " + r.finishReason().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return 0;
    }

    static JsonObject toJson(GenerationResult r, Generator p) {
        JsonObject o = new JsonObject();
        o.addProperty("model", p.model().name());
        o.addProperty("device", p.model().device());
        o.addProperty("text", r.text());
        o.add("tokens", new com.google.gson.Gson().toJsonTree(r.tokens()));
        o.addProperty("finish_reason", r.finishReason().name().toLowerCase(java.util.Locale.ROOT));
        o.add("stats", StatsJson.of(r.stats()));
        return o;
    }
}
