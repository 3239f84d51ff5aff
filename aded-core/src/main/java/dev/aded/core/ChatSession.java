package dev.aded.core;

import dev.aded.core.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A conversation with the model that remembers: the messages so far and the model's cache of them, so that each
 * turn runs only what it adds (the new user message and the template's markup) through the model, however long
 * the conversation. Made by {@link Generator#newChat}; one turn at a time; close it to free the cache.
 *
 * <p>When the context is full: before each turn, while the rendered conversation plus the turn's
 * {@code maxNewTokens} does not fit the model's context, the oldest user/assistant exchange is dropped, the system
 * message always kept. The cache is then reused up to the system message. A single new message too long for the
 * context on its own is refused with an {@link IllegalArgumentException} (or cut, per the config's
 * {@link ContextOverflow}).
 *
 * <p>The cache holds the model's whole context ({@link TargetModel#maxContext()}) for the session's lifetime.
 */
public final class ChatSession implements AutoCloseable {
    private final Generator generator;
    private final ChatMessage system;
    private final List<ChatMessage> turns = new ArrayList<>();
    private final PrefixCache kept;

    ChatSession(Generator generator, String systemMessage, PrefixCache kept) {
        this.generator = generator;
        this.system = systemMessage == null ? null : ChatMessage.system(systemMessage);
        this.kept = kept;
    }

    public GenerationResult send(String userMessage, GenerationConfig config) {
        return send(userMessage, config, null, new Cancellation());
    }

    /**
     * Adds the user's message, generates the assistant's answer and adds it too (also when cancelled, with the text
     * so far). A turn that fails leaves the conversation as it was.
     */
    public synchronized GenerationResult send(String userMessage, GenerationConfig config, TextListener listener,
            Cancellation cancellation) {
        Objects.requireNonNull(userMessage, "userMessage");
        Objects.requireNonNull(config, "config");
        List<ChatMessage> next = new ArrayList<>(turns);
        next.add(ChatMessage.user(userMessage));
        int[] ids = generator.encodeChat(withSystem(next));
        int context = generator.model().maxContext();
        while (ids.length + config.maxNewTokens() > context && next.size() > 1) {
            next.subList(0, Math.min(2, next.size() - 1)).clear();
            ids = generator.encodeChat(withSystem(next));
        }
        GenerationResult result = generator.generateTokens(ids, config, listener, cancellation, kept);
        next.add(ChatMessage.assistant(result.text()));
        turns.clear();
        turns.addAll(next);
        return result;
    }

    /** The conversation as it stands: the system message, if any, and the exchanges kept. */
    public synchronized List<ChatMessage> messages() {
        return List.copyOf(withSystem(turns));
    }

    /** Tokens in the model's cache now, which the next turn does not run again where its prompt starts with them. */
    public synchronized int cachedTokens() {
        return kept.length();
    }

    private List<ChatMessage> withSystem(List<ChatMessage> messages) {
        if (system == null) {
            return messages;
        }
        List<ChatMessage> all = new ArrayList<>(messages.size() + 1);
        all.add(system);
        all.addAll(messages);
        return all;
    }

    /** Frees the cache; the generator stays open. */
    @Override
    public synchronized void close() {
        kept.close();
    }
}
