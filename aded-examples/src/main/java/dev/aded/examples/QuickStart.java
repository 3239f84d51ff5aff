package dev.aded.examples;

import ai.djl.Device;
import dev.aded.core.ContextLookup;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.datastore.Datastore;
import dev.aded.mcts.MctsDrafterFactory;
import dev.aded.verify.LlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The library in one page, to copy: load a model, its tokenizer and a datastore, generate once, then stream.
 *
 * <p>Run from the repository root: {@code java -cp aded-examples/target/aded.jar dev.aded.examples.QuickStart
 * [MODEL_DIR [DATASTORE]]}. Without arguments it uses the embedded code-15m model and its {@code default.aded}.
 * {@link Pipeline} does the same opening and closing for the {@code aded} command.
 */
public final class QuickStart {
    private QuickStart() {}

    public static void main(String[] args) {
        // Use the bundled CPU build of PyTorch instead of letting DJL download one.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        Path modelDir = Path.of(args.length > 0 ? args[0] : "aded-examples/models/code-15m");
        Path store = args.length > 1 ? Path.of(args[1]) : modelDir.resolve("default.aded");

        // The generator borrows these three, so they are closed here, after it (null resources are skipped).
        try (Tokenizer tokenizer = Tokenizer.load(modelDir);
                LlamaModel model = LlamaModel.load(modelDir, Device.cpu()); // Device.gpu(): see docs/gpu.md
                Datastore datastore = Files.isRegularFile(store) ? Datastore.open(store) : null) {
            Generator.Builder builder = Generator.builder(model, tokenizer);
            if (datastore != null) {
                // ADED: drafts come from the datastore's tri-gram counts, which learn from every generation.
                builder.drafter(ContextLookup.around(new MctsDrafterFactory(new AdaptiveCounts(datastore))));
            }
            try (Generator generator = builder.build()) {
                // Greedy, up to 64 tokens; no mode given, so aded with a datastore and plain decoding without.
                GenerationConfig config = GenerationConfig.builder().maxNewTokens(64).build();

                // 1. One call, the whole result: the text, the token ids and the statistics.
                GenerationResult result = generator.generate("def fibonacci(n):\n", config);
                System.out.println(result.text());
                System.out.println(result.stats());

                // 2. Streaming with sampling: each piece of text is printed as soon as it is final.
                GenerationConfig sampled = config.toBuilder().temperature(0.7).topP(0.9).seed(7).build();
                GenerationResult streamed = generator.generate("class Stack:\n", sampled, System.out::print);
                System.out.println();
                System.out.println(streamed.stats() + ", finish: " + streamed.finishReason());
            }
        }
    }
}
