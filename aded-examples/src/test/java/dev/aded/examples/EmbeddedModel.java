package dev.aded.examples;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the tests find the embedded model, its default datastore and the dev prompts. */
final class EmbeddedModel {
    static final Path DIR = Path.of("models", "code-15m");
    static final Path DATASTORE = DIR.resolve("default.aded");
    static final Path PROMPTS = Path.of("data", "code-dev.jsonl");

    private EmbeddedModel() {}

    /** One pipeline over the embedded model and default datastore on the CPU, shared by a test class. */
    static Pipeline open() {
        if (!Files.isRegularFile(DATASTORE)) {
            throw new IllegalStateException("the default datastore " + DATASTORE.toAbsolutePath() + " is missing");
        }
        return Pipeline.open(DIR, DATASTORE, "cpu");
    }
}
