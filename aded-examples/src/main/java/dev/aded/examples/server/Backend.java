package dev.aded.examples.server;

import dev.aded.core.Cancellation;
import dev.aded.core.FinishReason;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Mode;
import dev.aded.core.PrefixCache;
import dev.aded.core.TextListener;
import dev.aded.core.TokenLogprobs;
import dev.aded.core.text.ChatMessage;
import dev.aded.core.Generator;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The server's one link to the generator: turns a checked request into token ids and a {@link GenerationConfig},
 * runs it, and reports in the server's own terms, log-probabilities in OpenAI's shapes included.
 */
final class Backend {
    private final Generator generator;
    private final int defaultMaxTokens;
    private final int caches;
    /** Prefix caches not in use; at most {@link #caches} exist (one per running generation). */
    private final List<PrefixCache> idle = new ArrayList<>();
    private int made;

    /** A request ready to run: its prompt tokens and generation settings. */
    static final class Job {
        private final int[] prompt;
        private final GenerationConfig config;
        private final boolean chat;

        private Job(int[] prompt, GenerationConfig config, boolean chat) {
            this.prompt = prompt;
            this.config = config;
            this.chat = chat;
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
    /** @param logprobs the choice's {@code logprobs} object in the endpoint's format, or null when not asked for */
    record Outcome(String text, String finishReason, JsonObject logprobs, int cachedPromptTokens, int completionTokens, int passes, double tokensPerSecond,
            double acceptedPerPass, boolean cancelled) {}

    /**
     * @param defaultMaxTokens the answer length when a request names none (cut to the room the context leaves)
     * @param caches prefix caches to keep, one per generation that may run at once: a request then prefills only
     *     what its prompt does not share with the cache that holds the most of it (a conversation's earlier turns)
     */
    Backend(Generator generator, int defaultMaxTokens, int caches) {
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("the default max_tokens must be at least 1, got " + defaultMaxTokens);
        }
        this.generator = generator;
        this.defaultMaxTokens = defaultMaxTokens;
        this.caches = caches;
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
                .logprobs(r.logprobs() >= 0)
                .topLogprobs(Math.max(0, r.logprobs()))
                .build();
        return new Job(prompt, r.chat() ? generator.chatConfig(config) : config, r.chat());
    }

    /**
     * Runs choice {@code index} of a job: choice i samples with the request's seed + i, so choices differ when
     * sampling and a seeded request repeats exactly.
     */
    Outcome run(Job job, int index, TextListener listener, Cancellation cancellation) {
        GenerationConfig config = job.config.toBuilder().seed(job.config.seed().getAsLong() + index).build();
        PrefixCache cache = takeCache(job.prompt);
        try {
            return run(job, config, cache, listener, cancellation);
        } finally {
            if (cache != null) {
                giveBack(cache);
            }
        }
    }

    private Outcome run(Job job, GenerationConfig config, PrefixCache cache, TextListener listener,
            Cancellation cancellation) {
        GenerationResult r = generator.generateTokens(job.prompt, config, listener, cancellation, cache);
        return new Outcome(r.text(), r.finishReason() == FinishReason.LENGTH ? "length" : "stop",
                job.config.logprobs() ? logprobs(r.logprobs(), job.chat) : null, cache == null ? 0 : cache.lastReused(),
                r.stats().newTokens(), r.stats().steps(), r.stats().tokensPerSecond(),
                r.stats().meanAcceptedTokens(), r.finishReason() == FinishReason.CANCELLED);
    }

    /**
     * The idle cache that holds the most of {@code prompt}; a new one while fewer than {@link #caches} exist and
     * none shares anything; null (a session of the generation's own) when all are in use.
     */
    private synchronized PrefixCache takeCache(int[] prompt) {
        PrefixCache best = null;
        int shared = -1;
        for (PrefixCache c : idle) {
            int s = c.sharedPrefix(prompt);
            if (s > shared) {
                best = c;
                shared = s;
            }
        }
        if ((best == null || shared == 0) && made < caches) {
            made++;
            return generator.newPrefixCache();
        }
        idle.remove(best);
        return best;
    }

    private synchronized void giveBack(PrefixCache cache) {
        idle.add(cache);
    }

    /** Frees the prefix caches; the server calls it once no generation runs. */
    synchronized void close() {
        idle.forEach(PrefixCache::close);
        idle.clear();
    }

    /**
     * Log-probabilities as OpenAI's endpoints give them: chat as {@code {content: [{token, logprob, bytes,
     * top_logprobs}]}}, completions as {@code {tokens, token_logprobs, top_logprobs, text_offset}}. A token's text
     * is its decoding alone (a byte-level token that is part of a character decodes to U+FFFD), its bytes that
     * text's UTF-8.
     */
    private JsonObject logprobs(List<TokenLogprobs> tokens, boolean chat) {
        JsonObject o = new JsonObject();
        if (chat) {
            JsonArray content = new JsonArray();
            for (TokenLogprobs t : tokens) {
                JsonObject entry = entry(t.token(), t.logprob());
                JsonArray top = new JsonArray();
                for (TokenLogprobs.Alternative a : t.top()) {
                    top.add(entry(a.token(), a.logprob()));
                }
                entry.add("top_logprobs", top);
                content.add(entry);
            }
            o.add("content", content);
            return o;
        }
        JsonArray texts = new JsonArray();
        JsonArray values = new JsonArray();
        JsonArray tops = new JsonArray();
        JsonArray offsets = new JsonArray();
        int offset = 0;
        for (TokenLogprobs t : tokens) {
            String text = tokenText(t.token());
            texts.add(text);
            values.add(t.logprob());
            JsonObject top = new JsonObject();
            for (TokenLogprobs.Alternative a : t.top()) {
                top.addProperty(tokenText(a.token()), a.logprob());
            }
            tops.add(top);
            offsets.add(offset);
            offset += text.length();
        }
        o.add("tokens", texts);
        o.add("token_logprobs", values);
        o.add("top_logprobs", tops);
        o.add("text_offset", offsets);
        return o;
    }

    private JsonObject entry(int token, double logprob) {
        String text = tokenText(token);
        JsonObject e = new JsonObject();
        e.addProperty("token", text);
        e.addProperty("logprob", logprob);
        JsonArray bytes = new JsonArray();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        e.add("bytes", bytes);
        return e;
    }

    private String tokenText(int token) {
        return generator.tokenizer().decode(new int[] {token}, 0, 1);
    }

    /** The modes this server can run, for /v1/models. */
    List<String> modes() {
        return List.of(Mode.values()).stream().filter(generator::supports).map(Mode::id).toList();
    }
}
