package dev.aded.examples.server;

import dev.aded.core.Cancellation;
import dev.aded.core.FinishReason;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Mode;
import dev.aded.core.TextListener;
import dev.aded.core.text.ChatMessage;
import dev.aded.core.Generator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The server's one link to the generator: turns a checked request into token ids and a {@link GenerationConfig},
 * runs it, and reports in the server's own terms. Chat sessions that keep their KV cache between turns, {@code n}
 * sequences in one call and log-probabilities belong here once the library offers them; the HTTP side stays as it
 * is.
 */
final class Backend {
    private final Generator generator;
    private final int defaultMaxTokens;

    /** What a running generation reports as it goes. */
    interface Listener {
        void onText(String piece);

        /** One forward pass added {@code tokens} tokens to the output. */
        void onStep(int tokens);
    }

    /** A request ready to run: its prompt tokens and generation settings. */
    static final class Job {
        private final int[] prompt;
        private final GenerationConfig config;

        private Job(int[] prompt, GenerationConfig config) {
            this.prompt = prompt;
            this.config = config;
        }

        int promptTokens() {
            return prompt.length;
        }

        String mode() {
            return config.mode().id();
        }
    }

    /**
     * One finished generation.
     *
     * @param finishReason OpenAI's {@code stop} or {@code length}
     * @param passes forward passes over draft trees
     */
    record Outcome(String text, String finishReason, int completionTokens, int passes, double tokensPerSecond,
            double acceptedPerPass, boolean cancelled) {}

    /**
     * @param defaultMaxTokens the answer length when a request names none (cut to the room the context leaves)
     */
    Backend(Generator generator, int defaultMaxTokens) {
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("the default max_tokens must be at least 1, got " + defaultMaxTokens);
        }
        this.generator = generator;
        this.defaultMaxTokens = defaultMaxTokens;
    }

    String modelId() {
        return generator.model().name();
    }

    int contextLength() {
        return generator.model().maxContext();
    }

    /** Checks a request against the model (mode, context length) and encodes its prompt. */
    Job prepare(CompletionRequest r) {
        Mode mode = r.mode() == null ? generator.defaultMode() : Mode.parse(r.mode());
        if (!generator.supports(mode)) {
            throw ApiException.invalid("mode", "mode aded needs a datastore: start aded serve with --datastore");
        }
        int[] prompt;
        try {
            prompt = r.chat()
                    ? generator.encodeChat(r.messages().stream()
                            .map(m -> new ChatMessage(m.role(), m.content())).toList())
                    : generator.tokenizer().encode(r.prompt());
        } catch (IllegalArgumentException | IllegalStateException e) {
            // The model's chat template refuses some conversations (roles out of order, say) with its own message.
            throw ApiException.invalid(r.chat() ? "messages" : "prompt", e.getMessage());
        }
        int context = contextLength();
        int room = context - prompt.length;
        int maxTokens = r.maxTokens() != null ? r.maxTokens() : Math.min(defaultMaxTokens, room);
        if (maxTokens < 1 || maxTokens > room) {
            throw new ApiException(400, "invalid_request_error", "context_length_exceeded",
                    r.chat() ? "messages" : "prompt", "This model's maximum context length is " + context
                            + " tokens. However, you requested " + (prompt.length + Math.max(maxTokens, 1))
                            + " tokens (" + prompt.length + " in the " + (r.chat() ? "messages" : "prompt") + ", "
                            + Math.max(maxTokens, 1) + " in the completion). Please reduce the length of the "
                            + (r.chat() ? "messages" : "prompt") + " or max_tokens.");
        }
        GenerationConfig config = GenerationConfig.builder()
                .mode(mode)
                .maxNewTokens(maxTokens)
                .temperature(r.temperature())
                .topP(r.topP())
                .seed(r.seed() != null ? r.seed() : ThreadLocalRandom.current().nextLong())
                .stopStrings(r.stop())
                .build();
        return new Job(prompt, r.chat() ? generator.chatConfig(config) : config);
    }

    /**
     * Runs choice {@code index} of a job: choice i samples with the request's seed + i, so choices differ when
     * sampling and a seeded request repeats exactly.
     */
    Outcome run(Job job, int index, Listener listener, Cancellation cancellation) {
        GenerationConfig config = job.config.toBuilder().seed(job.config.seed().getAsLong() + index).build();
        GenerationResult r = generator.generateTokens(job.prompt, config, new TextListener() {
            @Override
            public void onText(String piece) {
                listener.onText(piece);
            }

            @Override
            public void onStep(int tokens) {
                listener.onStep(tokens);
            }
        }, cancellation);
        return new Outcome(r.text(), r.finishReason() == FinishReason.LENGTH ? "length" : "stop",
                r.stats().newTokens(), r.stats().steps(), r.stats().tokensPerSecond(),
                r.stats().meanAcceptedTokens(), r.finishReason() == FinishReason.CANCELLED);
    }

    /** The modes this server can run, for /v1/models. */
    List<String> modes() {
        return List.of(Mode.values()).stream().filter(generator::supports).map(Mode::id).toList();
    }
}
