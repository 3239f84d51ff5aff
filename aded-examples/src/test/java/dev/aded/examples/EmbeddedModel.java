package dev.aded.examples;

import com.google.gson.JsonParser;
import dev.aded.Aded;
import dev.aded.core.Generator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the tests find the embedded model, its default datastore and the dev prompts. */
final class EmbeddedModel {
    static final Path DIR = Path.of("models", "code-15m");
    static final Path DATASTORE = DIR.resolve("default.aded");
    static final Path PROMPTS = Path.of("data", "code-dev.jsonl");

    private EmbeddedModel() {}

    /** The prompts of the dev set, in file order. */
    static List<String> devPrompts() throws IOException {
        return Files.readAllLines(PROMPTS, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.isBlank())
                .map(l -> JsonParser.parseString(l).getAsJsonObject().get("prompt").getAsString())
                .toList();
    }

    /** One generator over the embedded model and default datastore on the CPU, shared by a test class. */
    static Generator open() {
        if (!Files.isRegularFile(DATASTORE)) {
            throw new IllegalStateException("the default datastore " + DATASTORE.toAbsolutePath() + " is missing");
        }
        return Aded.builder().model(DIR).datastore(DATASTORE).build();
    }
}
