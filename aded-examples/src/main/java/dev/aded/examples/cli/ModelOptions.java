package dev.aded.examples.cli;

import dev.aded.Aded;
import dev.aded.Device;
import dev.aded.DraftSearch;
import dev.aded.Precision;
import dev.aded.core.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
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

    @Option(names = "--max-pass-nodes", paramLabel = "N",
            description = "tree nodes one forward pass verifies at most; concurrent generations share it (default"
                    + " 1024)")
    Integer maxPassNodes;

    /** The generator these options describe, over the embedded model and its datastore unless told otherwise. */
    Generator open() {
        return open(null, 1, 0);
    }

    /**
     * The same, running up to {@code concurrency} generations at once with their trees verified in one forward pass
     * and letting {@code maxQueued} more wait for a turn, and writing its learned counts to {@code persistTo} (unless
     * null) when it closes.
     */
    Generator open(Path persistTo, int concurrency, int maxQueued) {
        Aded.Builder b = builder().persistLearnedCounts(persistTo);
        if (maxPassNodes != null) {
            b.maxPassNodes(maxPassNodes);
        }
        return concurrency > 1 ? b.concurrency(concurrency).maxQueued(maxQueued).build() : b.build();
    }

    private Aded.Builder builder() {
        Path dir = model != null ? model : defaultModelDir();
        return Aded.builder().model(dir).datastore(datastoreFile(dir)).device(device()).precision(precision())
                .draftSearch(draftSearch()).contextLookup(contextLookup);
    }

    /** The draft search aded runs with, as the command line spells it; null without a datastore. */
    String resolvedDrafter() {
        Path dir = model != null ? model : defaultModelDir();
        return datastoreFile(dir) == null ? null
                : draftSearch().on(device()).name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private Path datastoreFile(Path dir) {
        if (datastore != null || model != null) {
            return datastore;
        }
        Path shipped = dir.resolve("default.aded");
        return Files.isRegularFile(shipped) ? shipped : null;
    }

    /** Whether the model runs on a GPU, where verifying many generations' trees in one pass pays. */
    boolean onGpu() {
        return device() == Device.GPU;
    }

    private Device device() {
        return switch (device) {
            case "cpu" -> Device.CPU;
            case "gpu" -> Device.GPU;
            default -> throw new IllegalArgumentException("unknown device '" + device + "': expected cpu or gpu");
        };
    }

    private Precision precision() {
        if (dtype == null) {
            return null;
        }
        return switch (dtype) {
            case "f16" -> Precision.F16;
            case "f32" -> Precision.F32;
            default -> throw new IllegalArgumentException("unknown dtype '" + dtype + "': expected f16 or f32");
        };
    }

    private DraftSearch draftSearch() {
        return switch (drafter) {
            case "mcts" -> DraftSearch.MCTS;
            case "best-first" -> DraftSearch.BEST_FIRST;
            case "auto" -> DraftSearch.AUTO;
            default -> throw new IllegalArgumentException("unknown drafter '" + drafter
                    + "': expected mcts, best-first or auto");
        };
    }

    /** The embedded default model, found beside the jar or in the source tree, unless -Daded.model says else. */
    static Path defaultModelDir() {
        String prop = System.getProperty("aded.model");
        if (prop != null) {
            return Path.of(prop);
        }
        try {
            Path jar = Path.of(ModelOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path besideJar = jar.getParent().resolveSibling("models").resolve("code-15m");
            if (Files.isDirectory(besideJar)) {
                return besideJar;
            }
        } catch (java.net.URISyntaxException | RuntimeException e) {
            // Not run from a jar file: fall through to the source-tree location.
        }
        return Path.of("aded-examples", "models", "code-15m");
    }
}
