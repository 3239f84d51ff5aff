package dev.aded.core;

import dev.aded.core.text.ChatMessage;
import dev.aded.core.text.ChatTemplate;
import dev.aded.core.text.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <p>Thread-safe: many threads may generate at once. Each generation keeps its own cache and drafter, drafts on its
 * own thread, and has its trees verified together with those of the other running generations, in one forward pass
 * where the model batches ({@link StepScheduler}, {@link TargetModel#forwardAll}). Built with an
 * {@link Builder#admission admission}, at most that many generations run at once and a bounded number wait.
 */
public final class Generator implements AutoCloseable {
    /** The header of the built-in chat template's next turn. */
    private static final String BUILT_IN_TURN = "\n### ";
    private final TargetModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final DrafterFactory datastoreDrafters;
    /** What this generator's aded generations learned of how far their drafts are taken; see TreeSizer. */
    private final TreeSizer.Record sizerRecord = new TreeSizer.Record();
    private final List<AutoCloseable> owned;
    private final ReentrantLock deviceLock = new ReentrantLock(true);
    private final StepScheduler scheduler;
    private final Admission admission;
    private ExecutorService asyncThreads;

    private Generator(Builder b) {
        this.model = b.model;
        this.tokenizer = b.tokenizer;
        this.chatTemplate = b.chatTemplate;
        this.datastoreDrafters = b.drafters;
        this.owned = List.copyOf(b.owned);
        this.scheduler = new StepScheduler(model, deviceLock, b.passNodes);
        this.admission = b.admission;
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
        return generateTokens(encodePrompt(prompt), config, listener, cancellation);
    }

    /**
     * Starts generating on the generator's threads and returns at once. Cancelling the future stops the generation
     * after its current step (the listener then gets {@code onComplete} with {@link FinishReason#CANCELLED}).
     *
     * @param listener gets the text as it comes, then the result or the failure; may be null
     */
    public CompletableFuture<GenerationResult> generateAsync(String prompt, GenerationConfig config,
            TextListener listener) {
        return generateTokensAsync(encodePrompt(prompt), config, listener);
    }

    /** {@link #generateAsync} from token ids. */
    public CompletableFuture<GenerationResult> generateTokensAsync(int[] prompt, GenerationConfig config,
            TextListener listener) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(config, "config");
        Cancellation cancellation = new Cancellation();
        CompletableFuture<GenerationResult> future = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                cancellation.cancel();
                return super.cancel(mayInterruptIfRunning);
            }
        };
        async().execute(() -> {
            try {
                future.complete(generateTokens(prompt, config, listener, cancellation));
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        });
        return future;
    }

    /** Starts generating and returns the text to pull piece by piece; see {@link TextStream}. */
    public TextStream stream(String prompt, GenerationConfig config) {
        return new TextStream(this, encodePrompt(prompt), config);
    }

    /**
     * A conversation that keeps its model cache between turns, so that each turn runs only its new tokens through
     * the model; see {@link ChatSession}. Close it to free the cache.
     *
     * @param systemMessage the system message that opens the conversation, or null for none
     */
    public ChatSession newChat(String systemMessage) {
        requireChatTemplate();
        return new ChatSession(this, systemMessage, openKept(model.maxContext()));
    }

    /**
     * A cache that later generations can share their prompts' common prefix through (a server's conversations, say):
     * each generation given it prefills only what its prompt does not share with the cache. It holds a session of
     * the model's whole context until closed.
     */
    public PrefixCache newPrefixCache() {
        return openKept(model.maxContext());
    }

    private PrefixCache openKept(int capacity) {
        deviceLock.lock();
        try {
            return new PrefixCache(model, capacity);
        } finally {
            deviceLock.unlock();
        }
    }

    /** {@link #generateTokensN} from text. */
    public List<GenerationResult> generateN(String prompt, GenerationConfig config, int n) {
        return generateTokensN(encodePrompt(prompt), config, n, new Cancellation());
    }

    /**
     * {@code n} independent samples of the same prompt (Hugging Face's {@code num_return_sequences}), one after
     * another on one cache: the prompt runs through the model once. The first sequence uses the config's seed, so
     * it equals {@link #generateTokens} with that seed; each later one a seed derived from it, so the whole list is
     * repeatable. When cancelled, the list ends with the sequence that was running, as far as it got.
     *
     * @throws IllegalArgumentException when {@code n} is below 1, or above 1 with greedy decoding (the sequences
     *     would all be the same)
     */
    public List<GenerationResult> generateTokensN(int[] prompt, GenerationConfig config, int n,
            Cancellation cancellation) {
        Objects.requireNonNull(config, "config");
        if (n < 1) {
            throw new IllegalArgumentException("n must be at least 1, got " + n);
        }
        if (n > 1 && config.greedy()) {
            throw new IllegalArgumentException("n = " + n + " greedy sequences would all be the same:"
                    + " sample with a temperature above 0");
        }
        if (n == 1) {
            return List.of(generateTokens(prompt, config, null, cancellation));
        }
        long seed = config.seed().orElseGet(() -> new SplittableRandom().nextLong());
        // Salted, so that the seeds of later sequences are not the first sequence's own draws.
        SplittableRandom seeds = new SplittableRandom(seed ^ 0x6A09E667F3BCC909L);
        int[] ids = fitContext(prompt, config);
        List<GenerationResult> results = new ArrayList<>(n);
        try (PrefixCache shared = openKept(Decoding.capacity(model, ids.length, config.maxNewTokens(),
                config.treeBudget()))) {
            for (int i = 0; i < n; i++) {
                GenerationConfig one = config.toBuilder().seed(i == 0 ? seed : seeds.nextLong()).build();
                GenerationResult r = generateTokens(ids, one, null, cancellation, shared);
                results.add(r);
                if (r.finishReason() == FinishReason.CANCELLED) {
                    break;
                }
            }
        }
        return results;
    }

    /** Continues a conversation through the model's chat template. */
    public GenerationResult chat(List<ChatMessage> messages, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        return generateTokens(encodeChat(messages), config, listener, cancellation);
    }

    /**
     * The token ids of a conversation rendered by the chat template, ending with the assistant's turn opened: what
     * {@link #chat} generates from. The template writes special tokens such as BOS itself, as Hugging Face's
     * apply_chat_template does.
     */
    public int[] encodeChat(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("conversation is empty");
        }
        requireChatTemplate();
        return requireTokenizer().encode(chatTemplate.render(messages, true), chatTemplate.isBuiltIn());
    }

    private void requireChatTemplate() {
        if (chatTemplate == null) {
            throw new IllegalStateException("no chat template: build the generator with chatTemplate(...)");
        }
    }

    private int[] encodePrompt(String prompt) {
        Objects.requireNonNull(prompt, "prompt");
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("prompt is empty");
        }
        return requireTokenizer().encode(prompt);
    }

    /** The threads of the async calls, started on first use: daemon threads, so they never keep a JVM alive. */
    private synchronized ExecutorService async() {
        if (asyncThreads == null) {
            AtomicInteger n = new AtomicInteger();
            asyncThreads = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "aded-generate-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return asyncThreads;
    }

    /**
     * Generates from token ids. {@link GenerationResult#text()} is empty when the generator has no tokenizer, and
     * stop strings then never match. The listener, when given, hears of the end too, failures included.
     */
    public GenerationResult generateTokens(int[] prompt, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        return generateTokens(prompt, config, listener, cancellation, null);
    }

    /**
     * Generates from token ids through {@code kept}, prefilling only what the prompt does not share with what it
     * holds (see {@link #newPrefixCache()}); null for a session of this call's own.
     */
    public GenerationResult generateTokens(int[] prompt, GenerationConfig config, TextListener listener,
            Cancellation cancellation, PrefixCache kept) {
        GenerationResult result;
        try (Admission.Ticket ticket = admission == null ? null : admission.enter()) {
            if (ticket != null) {
                ticket.awaitTurn(() -> {
                    if (cancellation.isCancelled()) {
                        throw new CancellationException("cancelled while waiting for a turn");
                    }
                });
            }
            result = run(prompt, config, listener, cancellation, kept);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CancellationException cancelled = new CancellationException("interrupted while waiting for a turn");
            if (listener != null) {
                listener.onError(cancelled);
            }
            throw cancelled;
        } catch (RuntimeException | Error e) {
            if (listener != null) {
                listener.onError(e);
            }
            throw e;
        }
        if (listener != null) {
            listener.onComplete(result);
        }
        return result;
    }

    private GenerationResult run(int[] prompt, GenerationConfig config, TextListener listener,
            Cancellation cancellation, PrefixCache kept) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(cancellation, "cancellation");
        int[] ids = fitContext(prompt, config);
        for (int id : ids) {
            if (id < 0 || id >= model.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary of "
                        + model.vocabSize());
            }
        }
        for (int id : config.stopTokenIds()) {
            if (id >= model.vocabSize()) {
                throw new IllegalArgumentException("stop token id " + id + " is outside the model's vocabulary of "
                        + model.vocabSize());
            }
        }
        Mode mode = resolveMode(config.mode());
        Drafter drafter = switch (mode) {
            case AR -> null;
            case PLD -> PromptLookupDrafter.FACTORY.newDrafter();
            case ADED -> datastoreDrafters.newDrafter();
        };
        // Larger sizes are timed when a tree first grows past these (Decoding.draft).
        VerifierCostModel cost = mode == Mode.ADED ? measuredCosts(firstMeasuredNodes(config)) : null;
        return new Decoding(model, tokenizer, config, mode, drafter, cost, sizerRecord, ids, deviceLock, scheduler,
                listener, cancellation, kept).run();
    }

    /**
     * Does now what the generations in {@code config} would otherwise do on their own time: captures the model's
     * CUDA graphs for their steps (on a GPU) and times its verification costs for the aded mode up to the config's
     * whole tree budget (once per model). For benchmarks and services that want their first requests' latency to be
     * like the others'. Sessions for prompts of any length the model takes are prepared for; see
     * {@link #prepare(GenerationConfig, int)} to prepare for shorter ones only.
     */
    public void prepare(GenerationConfig config) {
        prepare(config, model.maxContext() - config.maxNewTokens() - config.treeBudget() - 1);
    }

    /** {@link #prepare(GenerationConfig)} for prompts of up to {@code promptTokens} tokens. */
    public void prepare(GenerationConfig config, int promptTokens) {
        Mode mode = resolveMode(config.mode());
        int nodes = mode == Mode.AR ? 1 : config.treeBudget() + 1;
        deviceLock.lock();
        try {
            // Prompts are prefilled in chunks of up to PREFILL_CHUNK tokens, which some models run as trees too.
            model.prepare(Decoding.capacity(model, Math.max(1, promptTokens), config.maxNewTokens(),
                    config.treeBudget()), Math.max(nodes, Math.min(Math.max(1, promptTokens), Decoding.PREFILL_CHUNK)));
        } finally {
            deviceLock.unlock();
        }
        if (mode == Mode.ADED) {
            // In the two steps a generation takes, so that the first step's time is the one first use costs.
            measuredCosts(firstMeasuredNodes(config));
            measuredCosts(config.treeBudget() + 1);
        }
    }

    private static int firstMeasuredNodes(GenerationConfig config) {
        return Math.min(config.treeBudget() + 1, VerifierCostModel.FIRST_NODES);
    }

    /**
     * The model's verification costs, timed on first use up to {@code maxNodes} tree nodes (once per model; not
     * counted in the generation's statistics).
     */
    private VerifierCostModel measuredCosts(int maxNodes) {
        VerifierCostModel cost = VerifierCostModel.of(model);
        cost.ensureMeasured(model, maxNodes, deviceLock);
        return cost;
    }

    /** Tree nodes one batched forward pass verifies at most: see {@link Builder#passNodes}. */
    public int passNodes() {
        return scheduler.maxNodes();
    }

    /** This generator's forward passes of generation steps so far, and why they started: see {@link PassCounts}. */
    public PassCounts passCounts() {
        return scheduler.counts();
    }

    /**
     * Forward passes of generation steps started so far ({@code passes}, a lone generation's steps included), and of
     * them those that started because the oldest waiting tree had waited long enough while some running
     * generation's tree was not ready ({@code startedByWait}); the others started once every running generation's
     * tree, or a pass's worth of nodes, was waiting. A large share started by the wait means streams wait for
     * stragglers.
     */
    public record PassCounts(long passes, long startedByWait) {}

    /** The admission that bounds running and waiting generations, or null when they are unbounded. */
    public Admission admission() {
        return admission;
    }

    /** The mode a config with no mode of its own runs in. */
    public Mode defaultMode() {
        return datastoreDrafters != null ? Mode.ADED : Mode.AR;
    }

    /** True when this generator can run {@code mode}: {@link Mode#ADED} needs a datastore drafter. */
    public boolean supports(Mode mode) {
        return mode != Mode.ADED || datastoreDrafters != null;
    }

    /**
     * {@code config} for a chat turn: as given with the model's own chat template; with the built-in template also
     * stopping at the next turn's header, which a model without a template of its own would go on to write.
     */
    public GenerationConfig chatConfig(GenerationConfig config) {
        if (chatTemplate == null || !chatTemplate.isBuiltIn() || config.stopStrings().contains(BUILT_IN_TURN)) {
            return config;
        }
        List<String> stops = new java.util.ArrayList<>(config.stopStrings());
        stops.add(BUILT_IN_TURN);
        return config.toBuilder().stopStrings(stops).build();
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

    /**
     * Closes what the builder was told the generator owns ({@link Builder#owning}), the last given first; the rest
     * stays the caller's. The first failure is thrown once all were closed, later ones added to it as suppressed.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (asyncThreads != null) {
                asyncThreads.shutdown();
            }
        }
        Closeables.closeInReverse(owned);
    }

    /** Builder for {@link Generator}. */
    public static final class Builder {
        private final TargetModel model;
        private final Tokenizer tokenizer;
        private ChatTemplate chatTemplate;
        private DrafterFactory drafters;
        private Admission admission;
        private int passNodes = StepScheduler.DEFAULT_MAX_NODES;
        private final List<AutoCloseable> owned = new java.util.ArrayList<>();

        private Builder(TargetModel model, Tokenizer tokenizer) {
            this.model = Objects.requireNonNull(model, "model");
            this.tokenizer = tokenizer;
        }

        /** The datastore drafter behind {@link Mode#ADED}, which then becomes the default mode. */
        public Builder drafter(DrafterFactory factory) {
            this.drafters = factory;
            return this;
        }

        /**
         * At most {@code running} generations at once (each holds a KV cache, a slot of a batching model); up to
         * {@code maxQueue} more wait for a turn, and one past those fails at once with
         * {@link GeneratorBusyException}. Unbounded by default.
         */
        public Builder admission(int running, int maxQueue) {
            this.admission = new Admission(running, maxQueue);
            return this;
        }

        /**
         * Tree nodes (roots included) one batched forward pass verifies at most, 1,024 by default: concurrent
         * generations share it, each drafting at most its share, so that all of their trees fit one pass. Fewer
         * make each pass cheaper and each tree smaller (vLLM's max_num_batched_tokens).
         */
        public Builder passNodes(int nodes) {
            if (nodes < 2) {
                throw new IllegalArgumentException("passNodes must be at least 2 (a root and a draft node), got "
                        + nodes);
            }
            this.passNodes = nodes;
            return this;
        }

        public Builder chatTemplate(ChatTemplate template) {
            this.chatTemplate = template;
            return this;
        }

        /** Hands {@code resource} (the model, the tokenizer, a datastore) to the generator, which closes it. */
        public Builder owning(AutoCloseable resource) {
            owned.add(Objects.requireNonNull(resource, "resource"));
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
