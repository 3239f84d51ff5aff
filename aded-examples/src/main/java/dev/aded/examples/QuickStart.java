package dev.aded.examples;

import dev.aded.Aded;
import dev.aded.Device;
import dev.aded.core.ChatSession;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.TextStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The library in one page, to copy: open a generator, generate once, stream, pull text, then chat.
 *
 * <p>Run from the repository root: {@code java -cp aded-examples/target/aded.jar dev.aded.examples.QuickStart
 * [MODEL_DIR [DATASTORE]]}. Without arguments it uses the embedded code-15m model and its {@code default.aded}.
 */
public final class QuickStart {
    private QuickStart() {}

    public static void main(String[] args) {
        // Use the bundled CPU build of PyTorch instead of letting DJL download one.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        Path modelDir = Path.of(args.length > 0 ? args[0] : "aded-examples/models/code-15m");
        Path store = args.length > 1 ? Path.of(args[1]) : modelDir.resolve("default.aded");

        // With a datastore the default mode is aded: drafts from its tri-gram counts, which learn from every
        // generation. Without one, plain decoding. The generator closes the model, tokenizer and datastore.
        try (Generator generator = Aded.builder()
                .model(modelDir)
                .datastore(Files.isRegularFile(store) ? store : null)
                .device(Device.CPU) // Device.GPU: see docs/gpu.md
                .build()) {
            // Greedy, up to 64 tokens.
            GenerationConfig config = GenerationConfig.builder().maxNewTokens(64).build();

            // 1. One call, the whole result: the text, the token ids and the statistics.
            GenerationResult result = generator.generate("def fibonacci(n):\n", config);
            System.out.println(result.text());
            System.out.println(result.stats());

            // 2. Streaming with sampling: each piece of text is printed as soon as it is final. A seed makes the
            //    draw repeatable; without one every call draws its own.
            GenerationConfig sampled = config.toBuilder().temperature(0.7).topP(0.9).seed(7).build();
            GenerationResult streamed = generator.generate("class Stack:\n", sampled, System.out::print);
            System.out.println();
            System.out.println(streamed.stats() + ", finish: " + streamed.finishReason());

            // 3. Pulling the text instead; leaving the block early cancels the generation.
            try (TextStream stream = generator.stream("def quicksort(items):\n", config)) {
                stream.forEachRemaining(System.out::print);
                System.out.println();
            }

            // 4. A chat that keeps its cache: the second turn runs only its own tokens through the model.
            try (ChatSession chat = generator.newChat("You write Python.")) {
                System.out.println(chat.send("def is_prime(n):", config).text());
                System.out.println(chat.send("def next_prime(n):", config).text());
            }
        }
    }
}
