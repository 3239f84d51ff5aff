package dev.aded.examples.cli;

import dev.aded.examples.Pipeline;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options that choose a model, a datastore and a device, shared by generate, chat and bench. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (default: the embedded code-15m)")
    Path model;

    @Option(names = "--datastore", paramLabel = "FILE",
            description = "tri-gram datastore (default: the one shipped beside the default model)")
    Path datastore;

    @Option(names = "--device", paramLabel = "cpu|gpu", defaultValue = "cpu", description = "where the model runs")
    String device;

    @Option(names = "--dtype", paramLabel = "f16|f32",
            description = "weights and activations on a GPU: f16 (default, fast) or f32 (agrees with plain decoding"
                    + " even where f16 rounding ties two tokens); the CPU always runs f32")
    String dtype;

    @Option(names = "--drafter", paramLabel = "mcts|best-first|auto", defaultValue = "auto",
            description = "how the aded mode grows its draft tree; auto: mcts on a GPU, best-first on the CPU")
    String drafter;

    @Option(names = "--context-lookup", paramLabel = "true|false", defaultValue = "true", arity = "1",
            description = "add the prompt-lookup branch to aded's draft tree (default: ${DEFAULT-VALUE})")
    boolean contextLookup;

    Pipeline open() {
        Path dir = model != null ? model : Pipeline.defaultModelDir();
        Path store = datastore != null ? datastore : model == null ? Pipeline.defaultDatastore(dir) : null;
        return Pipeline.open(dir, store, device, dtype, drafter, contextLookup);
    }
}
