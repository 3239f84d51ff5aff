package dev.aded.examples;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.aded.core.ContextLookup;
import dev.aded.core.DrafterFactory;
import dev.aded.core.GenerationConfig;
import dev.aded.core.Generator;
import dev.aded.core.text.ChatTemplate;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.datastore.Datastore;
import dev.aded.mcts.BestFirstDrafterFactory;
import dev.aded.mcts.MctsDrafterFactory;
import dev.aded.verify.LlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything one generator needs, opened from a Hugging Face model folder and an optional datastore file, and
 * closed together: the model on its device, its tokenizer and chat template, the datastore with its adaptive
 * counts, and the generator over them.
 */
public final class Pipeline implements AutoCloseable {
    /** The header of the built-in chat template's next turn. */
    private static final String BUILT_IN_TURN = "\n### ";

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Datastore datastore;
    private final AdaptiveCounts counts;
    private final Generator generator;
    private final String drafter;

    private Pipeline(LlamaModel model, Tokenizer tokenizer, Datastore datastore, AdaptiveCounts counts,
            Generator generator, String drafter) {
        this.drafter = drafter;
        this.model = model;
        this.tokenizer = tokenizer;
        this.datastore = datastore;
        this.counts = counts;
        this.generator = generator;
    }

    /** Opens a pipeline with the device's default drafter and the context-lookup branch. */
    public static Pipeline open(Path modelDir, Path datastoreFile, String device) {
        return open(modelDir, datastoreFile, device, "auto", true);
    }

    /**
     * @param datastoreFile the tri-gram datastore, or null for a generator without the {@code aded} mode
     * @param device {@code cpu} or {@code gpu}
     * @param drafter {@code mcts} (ADED's search), {@code best-first} (the most probable nodes first) or
     *     {@code auto}: MCTS on a GPU, best-first on the CPU, where each measured ahead (docs/benchmarks.md)
     * @param contextLookup whether the tree also gets the prompt-lookup branch ({@link ContextLookup})
     */
    public static Pipeline open(Path modelDir, Path datastoreFile, String device, String drafter,
            boolean contextLookup) {
        Device dev = parseDevice(device);
        if (!drafter.equals("mcts") && !drafter.equals("best-first") && !drafter.equals("auto")) {
            throw new IllegalArgumentException("unknown drafter '" + drafter + "': expected mcts, best-first or auto");
        }
        boolean mcts = drafter.equals("mcts") || drafter.equals("auto") && dev.isGpu();
        Tokenizer tokenizer = Tokenizer.load(modelDir);
        Datastore datastore = null;
        LlamaModel model = null;
        try {
            AdaptiveCounts counts = null;
            if (datastoreFile != null) {
                datastore = Datastore.open(datastoreFile);
                counts = new AdaptiveCounts(datastore);
            }
            model = LlamaModel.load(modelDir, dev);
            Generator.Builder b = Generator.builder(model, tokenizer).chatTemplate(ChatTemplate.load(modelDir));
            if (counts != null) {
                DrafterFactory f = mcts ? new MctsDrafterFactory(counts) : new BestFirstDrafterFactory(counts);
                b.drafter(contextLookup ? ContextLookup.around(f) : f);
            }
            return new Pipeline(model, tokenizer, datastore, counts, b.build(),
                    counts == null ? null : mcts ? "mcts" : "best-first");
        } catch (RuntimeException e) {
            if (model != null) {
                model.close();
            }
            if (datastore != null) {
                datastore.close();
            }
            tokenizer.close();
            throw e;
        }
    }

    /** Maps {@code cpu}/{@code gpu} to a DJL device, failing clearly when no GPU is visible. */
    public static Device parseDevice(String device) {
        switch (device) {
            case "cpu":
                return Device.cpu();
            case "gpu":
                int gpus = Engine.getEngine("PyTorch").getGpuCount();
                if (gpus == 0) {
                    throw new IllegalArgumentException("--device gpu: PyTorch sees no CUDA GPU (no driver, no CUDA"
                            + " build of libtorch on PYTORCH_LIBRARY_PATH, or CUDA_VISIBLE_DEVICES hides it)");
                }
                return Device.gpu();
            default:
                throw new IllegalArgumentException("unknown device '" + device + "': expected cpu or gpu");
        }
    }

    /** The embedded default model, found beside the jar or in the source tree, unless -Daded.model says else. */
    public static Path defaultModelDir() {
        String prop = System.getProperty("aded.model");
        if (prop != null) {
            return Path.of(prop);
        }
        try {
            Path jar = Path.of(Pipeline.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path besideJar = jar.getParent().resolveSibling("models").resolve("code-15m");
            if (Files.isDirectory(besideJar)) {
                return besideJar;
            }
        } catch (java.net.URISyntaxException | RuntimeException e) {
            // Not run from a jar file: fall through to the source-tree location.
        }
        return Path.of("aded-examples", "models", "code-15m");
    }

    /** The default datastore that ships beside the default model, when present. */
    public static Path defaultDatastore(Path modelDir) {
        Path file = modelDir.resolve("default.aded");
        return Files.isRegularFile(file) ? file : null;
    }

    /**
     * {@code config} for a chat turn: with the model's own chat template as given; with the built-in template also
     * stopping at the next turn's header, which a model without a template of its own would go on to write.
     */
    public GenerationConfig chatConfig(GenerationConfig config) {
        if (!generator.chatTemplate().isBuiltIn() || config.stopStrings().contains(BUILT_IN_TURN)) {
            return config;
        }
        List<String> stops = new ArrayList<>(config.stopStrings());
        stops.add(BUILT_IN_TURN);
        return config.toBuilder().stopStrings(stops).build();
    }

    public Generator generator() {
        return generator;
    }

    public LlamaModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The drafter of the aded mode, {@code mcts} or {@code best-first}; null without a datastore. */
    public String drafter() {
        return drafter;
    }

    /** The adaptive counts the generator learns into, or null without a datastore. */
    public AdaptiveCounts counts() {
        return counts;
    }

    @Override
    public void close() {
        generator.close();
        model.close();
        if (datastore != null) {
            datastore.close();
        }
        tokenizer.close();
    }
}
