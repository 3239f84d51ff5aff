package dev.aded;

import dev.aded.core.Closeables;
import dev.aded.core.ContextLookup;
import dev.aded.core.DrafterFactory;
import dev.aded.core.Generator;
import dev.aded.core.text.ChatTemplate;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.datastore.Datastore;
import dev.aded.mcts.BestFirstDrafterFactory;
import dev.aded.mcts.MctsDrafterFactory;
import dev.aded.verify.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The library's front door: a ready {@link Generator} from a Hugging Face model folder and, optionally, a datastore.
 *
 * <pre>{@code
 * try (Generator generator = Aded.builder().model(dir).datastore(file).device(Device.GPU).build()) {
 *     System.out.println(generator.generate("def fib(n):", GenerationConfig.defaults()).text());
 * }
 * }</pre>
 *
 * <p>What the folder says is used: its tokenizer, its weights, and the chat template of its
 * {@code tokenizer_config.json} (a plain built-in one when it has none). With a datastore the default mode is
 * {@code aded}, with the draft search suited to the device and the context-lookup branch; the datastore's body is
 * checked in the background ({@link Datastore#verifyInBackground()}), so opening stays fast. The generator owns
 * everything it opened and closes it.
 */
public final class Aded {
    private Aded() {}

    public static Builder builder() {
        return new Builder();
    }

    /** Builder for a generator; only {@link #model} is required. */
    public static final class Builder {
        private Path modelDir;
        private Path datastoreFile;
        private Device device = Device.CPU;
        private Precision precision;
        private DraftSearch draftSearch = DraftSearch.AUTO;
        private boolean contextLookup = true;
        private boolean verifyDatastore = true;
        private Path persistTo;
        private int concurrency;
        private int maxQueued = -1;
        private int passNodes;

        private Builder() {}

        /** A Hugging Face Llama, Mistral or Qwen2 folder: config.json, safetensors weights, tokenizer.json. */
        public Builder model(Path dir) {
            this.modelDir = Objects.requireNonNull(dir, "model");
            return this;
        }

        /** The tri-gram datastore behind the {@code aded} mode (built by {@code aded datastore build}); none by default. */
        public Builder datastore(Path file) {
            this.datastoreFile = file;
            return this;
        }

        /** {@link Device#CPU} by default. */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /** f16 or f32; left out, the device's default: f16 on a GPU, f32 on the CPU (which runs f32 only). */
        public Builder precision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /** {@link DraftSearch#AUTO} by default: MCTS on a GPU, best-first on the CPU. */
        public Builder draftSearch(DraftSearch search) {
            this.draftSearch = Objects.requireNonNull(search, "draftSearch");
            return this;
        }

        /** Whether aded's tree also gets the prompt-lookup branch ({@link ContextLookup}); on by default. */
        public Builder contextLookup(boolean on) {
            this.contextLookup = on;
            return this;
        }

        /**
         * When the generator closes, write the tri-gram counts learned so far (the datastore's plus what generation
         * added) to {@code file}, a datastore file that a later run can open; the write is atomic, and the
         * datastore given may be the target. Needs a datastore; none by default (learning then stays in memory).
         */
        public Builder persistLearnedCounts(Path file) {
            this.persistTo = file;
            return this;
        }

        /**
         * Serve up to {@code generations} generations at once, verifying all their draft trees in one forward pass
         * per step: the model's KV cache becomes one block of {@code generations} slots, each as long as the model's
         * context, and further generations wait in a queue ({@link #maxQueued}). 1 by default, which keeps a
         * generator's concurrent callers taking turns step by step.
         */
        public Builder concurrency(int generations) {
            if (generations < 1) {
                throw new IllegalArgumentException("concurrency must be at least 1, got " + generations);
            }
            this.concurrency = generations;
            return this;
        }

        /**
         * Generations that may wait for a turn beyond {@link #concurrency}; one more fails at once with
         * {@link dev.aded.core.GeneratorBusyException}. Four times the concurrency by default.
         */
        public Builder maxQueued(int generations) {
            if (generations < 0) {
                throw new IllegalArgumentException("maxQueued must be at least 0, got " + generations);
            }
            this.maxQueued = generations;
            return this;
        }

        /**
         * Tree nodes one forward pass verifies at most, 1,024 by default; with {@link #concurrency} above 1 the
         * running generations share it, each drafting at most its share (vLLM's max_num_batched_tokens). See
         * {@link Generator.Builder#passNodes}.
         */
        public Builder maxPassNodes(int nodes) {
            if (nodes < 2) {
                throw new IllegalArgumentException("maxPassNodes must be at least 2, got " + nodes);
            }
            this.passNodes = nodes;
            return this;
        }

        /** Whether the datastore's body is checked in the background after opening; on by default. */
        public Builder verifyDatastore(boolean on) {
            this.verifyDatastore = on;
            return this;
        }

        /**
         * Opens the model on its device, the tokenizer and the datastore, and builds the generator over them.
         *
         * @throws IllegalArgumentException naming the file and the problem for a bad folder or datastore, or a
         *     datastore made with another tokenizer
         * @throws dev.aded.core.DeviceMemoryException when the device cannot hold the weights
         */
        public Generator build() {
            if (modelDir == null) {
                throw new IllegalStateException("no model: call model(dir) with a Hugging Face model folder");
            }
            if (persistTo != null && datastoreFile == null) {
                throw new IllegalStateException("persistLearnedCounts(" + persistTo + ") needs a datastore to learn"
                        + " into: call datastore(file)");
            }
            ai.djl.Device djlDevice = device.toDjl();
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                Tokenizer tokenizer = Tokenizer.load(modelDir);
                opened.add(tokenizer);
                DrafterFactory drafters = null;
                AdaptiveCounts counts = null;
                if (datastoreFile != null) {
                    Datastore datastore = Datastore.open(datastoreFile);
                    opened.add(datastore);
                    datastore.requireTokenizer(tokenizer.file(), tokenizer.vocabSize());
                    if (verifyDatastore) {
                        datastore.verifyInBackground();
                    }
                    counts = new AdaptiveCounts(datastore);
                    drafters = draftSearch.on(device) == DraftSearch.MCTS ? new MctsDrafterFactory(counts)
                            : new BestFirstDrafterFactory(counts);
                }
                LlamaModel model = LlamaModel.load(modelDir, djlDevice, Precision.on(precision, device));
                opened.add(model);
                Generator.Builder gb = Generator.builder(model, tokenizer).chatTemplate(ChatTemplate.load(modelDir));
                if (concurrency > 1) {
                    model.batching(concurrency, model.maxContext());
                    gb.admission(concurrency, maxQueued >= 0 ? maxQueued : 4 * concurrency);
                }
                if (passNodes > 0) {
                    gb.passNodes(passNodes);
                }
                if (drafters != null) {
                    gb.drafter(contextLookup ? ContextLookup.around(drafters) : drafters);
                }
                boolean[] built = {false};
                if (persistTo != null) {
                    // Last in, so first out when the generator closes: before the datastore, whose pages the counts
                    // still read; and not when the build itself fails.
                    AdaptiveCounts learned = counts;
                    opened.add(() -> {
                        if (built[0]) {
                            learned.persist(persistTo);
                        }
                    });
                }
                opened.forEach(gb::owning);
                Generator generator = gb.build();
                built[0] = true;
                return generator;
            } catch (RuntimeException e) {
                try {
                    Closeables.closeInReverse(opened);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }
    }
}
