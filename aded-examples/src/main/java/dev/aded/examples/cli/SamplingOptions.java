package dev.aded.examples.cli;

import dev.aded.core.GenerationConfig;
import dev.aded.core.Mode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that shape one generation, shared by generate and chat. */
final class SamplingOptions {
    @Option(names = "--mode", paramLabel = "ar|pld|aded",
            description = "drafting mode (default: aded with a datastore, else ar)")
    String mode;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 = greedy")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1")
    double topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "0 = off")
    int topK;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0",
            description = "drop tokens less likely than P times the likeliest; 0 = off")
    double minP;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1",
            description = "penalise tokens already in the text (Hugging Face's rule); 1 = off")
    double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "sampling seed (default: a random one per answer)")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "stop string (repeatable)")
    List<String> stops = new ArrayList<>();

    @Option(names = "--stop-token-id", paramLabel = "ID", description = "stop at this token id (repeatable)")
    List<Integer> stopTokenIds = new ArrayList<>();

    @Option(names = "--tree-budget", paramLabel = "N", defaultValue = "" + GenerationConfig.DEFAULT_TREE_BUDGET,
            description = "the most draft nodes a step may verify (default: ${DEFAULT-VALUE}); aded verifies as"
                    + " many as pay for themselves")
    int treeBudget;

    GenerationConfig config() {
        GenerationConfig.Builder b = GenerationConfig.builder();
        if (seed != null) {
            b.seed(seed);
        }
        return b
                .mode(mode == null ? null : Mode.parse(mode))
                .maxNewTokens(maxNewTokens)
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .minP(minP)
                .repetitionPenalty(repetitionPenalty)
                .stopStrings(stops)
                .stopTokenIds(stopTokenIds.stream().mapToInt(Integer::intValue).toArray())
                .treeBudget(treeBudget)
                .build();
    }
}
