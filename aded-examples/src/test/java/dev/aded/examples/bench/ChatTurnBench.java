package dev.aded.examples.bench;

import dev.aded.Aded;
import dev.aded.core.Cancellation;
import dev.aded.core.ChatSession;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.TextListener;
import dev.aded.core.text.ChatMessage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Time to first token of each chat turn, with a {@link ChatSession} (the cache kept between turns) and with the
 * stateless {@link Generator#chat} (the whole conversation prefilled every turn), over the same conversation.
 * Run from aded-examples: {@code java -cp "target/test-classes:$(cat cp.txt)" dev.aded.examples.bench.ChatTurnBench
 * [MODEL_DIR [TURNS [REPEATS]]]} after {@code mvn dependency:build-classpath -Dmdep.outputFile=cp.txt}.
 */
public final class ChatTurnBench {
    private ChatTurnBench() {}

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        Path dir = Path.of(args.length > 0 ? args[0] : "models/code-15m");
        int turns = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(64).build();
        String question = "def function_%d(values):\n    \"\"\"Return the values that are larger than %d.\"\"\"\n";
        try (Generator generator = Aded.builder().model(dir).build()) {
            double[] kept = new double[turns];
            double[] stateless = new double[turns];
            for (int r = 0; r <= repeats; r++) { // the first round warms up and is not counted
                List<ChatMessage> history = new ArrayList<>();
                try (ChatSession chat = generator.newChat("You write Python.")) {
                    history.add(ChatMessage.system("You write Python."));
                    for (int t = 0; t < turns; t++) {
                        String q = String.format(Locale.ROOT, question, t, t);
                        history.add(ChatMessage.user(q));
                        FirstToken a = new FirstToken();
                        generator.chat(history, config, a, new Cancellation());
                        FirstToken b = new FirstToken();
                        GenerationResult answer = chat.send(q, config, b, new Cancellation());
                        history.add(ChatMessage.assistant(answer.text()));
                        if (r > 0) {
                            stateless[t] += a.millis() / repeats;
                            kept[t] += b.millis() / repeats;
                        }
                    }
                }
            }
            for (int t = 0; t < turns; t++) {
                System.out.printf(Locale.ROOT, "turn %d: time to first token %.2f ms with ChatSession, %.2f ms"
                        + " stateless%n", t + 1, kept[t], stateless[t]);
            }
            System.out.printf(Locale.ROOT, "turn %d / turn 1: %.2f with ChatSession, %.2f stateless%n", turns,
                    kept[turns - 1] / kept[0], stateless[turns - 1] / stateless[0]);
        }
    }

    /** Times from its creation to the first piece of text. */
    private static final class FirstToken implements TextListener {
        private final long start = System.nanoTime();
        private long first = -1;

        @Override
        public void onText(String piece) {
            if (first < 0) {
                first = System.nanoTime();
            }
        }

        double millis() {
            return (first - start) / 1e6;
        }
    }
}
