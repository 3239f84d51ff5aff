package dev.aded.core;

import dev.aded.core.text.ChatMessage;
import dev.aded.core.text.ChatTemplate;
import dev.aded.core.text.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The library's entry point: text in, text out, through speculative decoding on a {@link TargetModel}.
 *
 * <pre>{@code
 * try (Generator generator = Generator.builder(model, Tokenizer.load(dir))
 *         .drafter(ContextLookup.around(new MctsDrafterFactory(new AdaptiveCounts(Datastore.open(file)))))
 *         .build()) {
 *     GenerationResult r = generator.generate("def fib(n):", GenerationConfig.defaults());
 * }
 * }</pre>
 *
 * <p>Thread-safe: many threads may generate at once. Each generation keeps its own cache and drafter; calls into
 * the model are serialised step by step, so callers interleave fairly on one device.
 */
public final class Generator implements AutoCloseable {
    private final TargetModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final DrafterFactory datastoreDrafters;
    private final boolean closeModel;
    private final ReentrantLock deviceLock = new ReentrantLock(true);

    private Generator(Builder b) {
        this.model = b.model;
        this.tokenizer = b.tokenizer;
        this.chatTemplate = b.chatTemplate;
        this.datastoreDrafters = b.drafters;
        this.closeModel = b.closeModel;
        if (tokenizer != null && tokenizer.vocabSize() > model.vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + tokenizer.file() + " has " + tokenizer.vocabSize()
                    + " tokens but model " + model.name() + " only " + model.vocabSize());
        }
        if (datastoreDrafters != null && tokenizer != null) {
            datastoreDrafters.checkCompatible(tokenizer);
        }
    }

    /**
     * @param tokenizer the model's tokenizer, or null to work on token ids only ({@link #generateTokens})
     */
    public static Builder builder(TargetModel model, Tokenizer tokenizer) {
        return new Builder(model, tokenizer);
    }

    public GenerationResult generate(String prompt, GenerationConfig config) {
        return generate(prompt, config, null, new Cancellation());
    }

    /** Generates, handing each new piece of text to {@code listener} as soon as it is final. */
    public GenerationResult generate(String prompt, GenerationConfig config, TextListener listener) {
        return generate(prompt, config, listener, new Cancellation());
    }

    public GenerationResult generate(String prompt, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        Objects.requireNonNull(prompt, "prompt");
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("prompt is empty");
        }
        return generateTokens(requireTokenizer().encode(prompt), config, listener, cancellation);
    }

    /** Continues a conversation through the model's chat template. */
    public GenerationResult chat(List<ChatMessage> messages, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("conversation is empty");
        }
        if (chatTemplate == null) {
            throw new IllegalStateException("no chat template: build the generator with chatTemplate(...)");
        }
        // The template writes special tokens such as BOS itself, as Hugging Face's apply_chat_template does.
        int[] ids = requireTokenizer().encode(chatTemplate.render(messages, true), chatTemplate.isBuiltIn());
        return generateTokens(ids, config, listener, cancellation);
    }

    /**
     * Generates from token ids. {@link GenerationResult#text()} is empty when the generator has no tokenizer, and
     * stop strings then never match.
     */
    public GenerationResult generateTokens(int[] prompt, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(cancellation, "cancellation");
        int[] ids = fitContext(prompt, config);
        for (int id : ids) {
            if (id < 0 || id >= model.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary of "
                        + model.vocabSize());
            }
        }
        Mode mode = resolveMode(config.mode());
        Drafter drafter = switch (mode) {
            case AR -> null;
            case PLD -> PromptLookupDrafter.FACTORY.newDrafter();
            case ADED -> datastoreDrafters.newDrafter();
        };
        VerifierCostModel cost = mode == Mode.ADED ? measuredCosts(config) : null;
        return new Decoding(model, tokenizer, config, mode, drafter, cost, ids, deviceLock, listener, cancellation)
                .run();
    }

    /**
     * The model's verification costs, timed on first use up to this config's tree budget (a few hundred
     * milliseconds on a CPU, once per model; not counted in the generation's statistics).
     */
    private VerifierCostModel measuredCosts(GenerationConfig config) {
        VerifierCostModel cost = VerifierCostModel.of(model);
        deviceLock.lock();
        try {
            cost.ensureMeasured(model, config.treeBudget() + 1);
        } finally {
            deviceLock.unlock();
        }
        return cost;
    }

    /** The mode a config with no mode of its own runs in. */
    public Mode defaultMode() {
        return datastoreDrafters != null ? Mode.ADED : Mode.AR;
    }

    /** True when this generator can run {@code mode}: {@link Mode#ADED} needs a datastore drafter. */
    public boolean supports(Mode mode) {
        return mode != Mode.ADED || datastoreDrafters != null;
    }

    /** The chat template {@link #chat} formats conversations with, or null. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public TargetModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    private Mode resolveMode(Mode requested) {
        if (requested == null) {
            return defaultMode();
        }
        if (!supports(requested)) {
            throw new IllegalArgumentException("mode aded needs a datastore: build the generator with drafter(...)");
        }
        return requested;
    }

    private int[] fitContext(int[] prompt, GenerationConfig config) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt is empty");
        }
        int context = model.maxContext();
        int room = context - config.maxNewTokens();
        if (prompt.length <= room) {
            return prompt;
        }
        String numbers = "prompt of " + prompt.length + " tokens + maxNewTokens " + config.maxNewTokens()
                + " exceeds the model's context of " + context + " tokens";
        if (config.contextOverflow() == ContextOverflow.ERROR || room < 2) {
            throw new IllegalArgumentException(numbers
                    + (room < 2 ? "" : " (shorten the prompt or allow ContextOverflow.TRUNCATE_PROMPT_START)"));
        }
        int[] kept = new int[room];
        kept[0] = prompt[0];
        System.arraycopy(prompt, prompt.length - (room - 1), kept, 1, room - 1);
        return kept;
    }

    private Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("this generator has no tokenizer: use generateTokens");
        }
        return tokenizer;
    }

    /** Closes the model when the builder was told it owns it; the tokenizer is the caller's. */
    @Override
    public void close() {
        if (closeModel) {
            model.close();
        }
    }

    /** Builder for {@link Generator}. */
    public static final class Builder {
        private final TargetModel model;
        private final Tokenizer tokenizer;
        private ChatTemplate chatTemplate;
        private DrafterFactory drafters;
        private boolean closeModel;

        private Builder(TargetModel model, Tokenizer tokenizer) {
            this.model = Objects.requireNonNull(model, "model");
            this.tokenizer = tokenizer;
        }

        /** The datastore drafter behind {@link Mode#ADED}, which then becomes the default mode. */
        public Builder drafter(DrafterFactory factory) {
            this.drafters = factory;
            return this;
        }

        public Builder chatTemplate(ChatTemplate template) {
            this.chatTemplate = template;
            return this;
        }

        /** Lets {@link Generator#close()} close the model too. */
        public Builder closeModel(boolean close) {
            this.closeModel = close;
            return this;
        }

        public Generator build() {
            return new Generator(this);
        }
    }

    @Override
    public String toString() {
        return "Generator{model=" + model.name() + ", device=" + model.device() + ", modes="
                + Arrays.toString(datastoreDrafters != null ? Mode.values() : new Mode[] {Mode.AR, Mode.PLD}) + "}";
    }
}
