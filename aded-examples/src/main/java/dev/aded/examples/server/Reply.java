package dev.aded.examples.server;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.aded.core.Admission;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Response;

/**
 * The answer to one completion request in OpenAI's shapes: server-sent events ({@code data: {...}} chunks, then
 * {@code data: [DONE]}) or one JSON object. Both write something at least every second while the request waits or
 * generates (an SSE comment, or whitespace before the JSON, which JSON allows), because a write is how the server
 * learns that the client has gone; the caller then cancels the generation.
 */
final class Reply {
    static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

    private final Response response;
    private final boolean stream;
    private final boolean chat;
    private final String model;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;
    private long lastWrite = System.nanoTime();
    private boolean started;

    Reply(Response response, boolean stream, boolean chat, String model) {
        this.response = response;
        this.stream = stream;
        this.chat = chat;
        this.model = model;
        this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }

    /** Whether the status line and headers have gone out, after which an error can only go in the body. */
    boolean started() {
        return started;
    }

    /** Proves the client is still there if nothing was written for a second. */
    void beat() throws IOException {
        if (System.nanoTime() - lastWrite >= Admission.BEAT_MILLIS * 1_000_000) {
            write(stream ? ": waiting\n\n" : " ");
        }
    }

    /** Choice {@code index} begins: chat streams announce the assistant's role. */
    void begin(int index) throws IOException {
        if (stream && chat) {
            JsonObject delta = new JsonObject();
            delta.addProperty("role", "assistant");
            delta.addProperty("content", "");
            event(chunk(choice(index, delta, null), null));
        }
    }

    /** A piece of choice {@code index}'s text, with that generation's progress so far. */
    void text(int index, String piece, JsonObject progress) throws IOException {
        if (!stream) {
            beat();
            return;
        }
        JsonObject delta = new JsonObject();
        delta.addProperty("content", piece);
        event(chunk(choice(index, chat ? delta : piece, null), progress));
    }

    /** Choice {@code index} ended. */
    void end(int index, Backend.Outcome outcome) throws IOException {
        if (stream) {
            JsonArray last = choice(index, chat ? new JsonObject() : "", outcome.finishReason());
            // The choice's log-probabilities come whole with its last chunk: text pieces are whole characters,
            // not tokens, so they cannot carry a token's figures each.
            if (outcome.logprobs() != null) {
                last.get(0).getAsJsonObject().add("logprobs", outcome.logprobs());
            }
            event(chunk(last, null));
        }
    }

    /** The last write: the usage, then {@code [DONE]}, or the whole JSON answer. */
    void finish(List<Backend.Outcome> outcomes, int promptTokens, JsonObject summary) throws IOException {
        JsonObject usage = new JsonObject();
        int completion = outcomes.stream().mapToInt(Backend.Outcome::completionTokens).sum();
        usage.addProperty("prompt_tokens", promptTokens);
        usage.addProperty("completion_tokens", completion);
        usage.addProperty("total_tokens", promptTokens + completion);
        // OpenAI's field for prompt tokens served from a cache: here the first choice's, found in a prefix cache.
        JsonObject details = new JsonObject();
        details.addProperty("cached_tokens", outcomes.isEmpty() ? 0 : outcomes.get(0).cachedPromptTokens());
        usage.add("prompt_tokens_details", details);
        if (stream) {
            JsonObject last = chunk(new JsonArray(), summary);
            last.add("usage", usage);
            event(last);
            write("data: [DONE]\n\n");
            return;
        }
        JsonArray choices = new JsonArray();
        for (int i = 0; i < outcomes.size(); i++) {
            Backend.Outcome o = outcomes.get(i);
            JsonElement body;
            if (chat) {
                JsonObject message = new JsonObject();
                message.addProperty("role", "assistant");
                message.addProperty("content", o.text());
                body = message;
            } else {
                body = GSON.toJsonTree(o.text());
            }
            JsonObject c = choice(i, body, o.finishReason()).get(0).getAsJsonObject();
            if (o.logprobs() != null) {
                c.add("logprobs", o.logprobs());
            }
            choices.add(c);
        }
        JsonObject answer = envelope(chat ? "chat.completion" : "text_completion");
        answer.add("choices", choices);
        answer.add("usage", usage);
        answer.add("aded", summary);
        write(GSON.toJson(answer));
    }

    /** Reports a failure after the answer began: as an event in a stream, else as the JSON body. */
    void fail(ApiException e) throws IOException {
        write(stream ? "data: " + GSON.toJson(e.toJson()) + "\n\n" : GSON.toJson(e.toJson()));
    }

    private JsonArray choice(int index, Object content, String finishReason) {
        JsonObject c = new JsonObject();
        c.addProperty("index", index);
        if (content instanceof JsonObject o) {
            c.add(stream ? "delta" : "message", o);
        } else {
            c.add("text", content instanceof JsonElement e ? e : GSON.toJsonTree(content));
        }
        c.add("logprobs", JsonNull.INSTANCE);
        c.addProperty("finish_reason", finishReason);
        JsonArray a = new JsonArray();
        a.add(c);
        return a;
    }

    private JsonObject chunk(JsonArray choices, JsonObject aded) {
        JsonObject o = envelope(chat ? "chat.completion.chunk" : "text_completion");
        o.add("choices", choices);
        if (aded != null) {
            o.add("aded", aded);
        }
        return o;
    }

    private JsonObject envelope(String object) {
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        o.addProperty("object", object);
        o.addProperty("created", created);
        o.addProperty("model", model);
        return o;
    }

    private void event(JsonObject data) throws IOException {
        write("data: " + GSON.toJson(data) + "\n\n");
    }

    private void write(String text) throws IOException {
        if (!started) {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE,
                    stream ? "text/event-stream; charset=utf-8" : "application/json; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            started = true;
        }
        Content.Sink.write(response, false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        lastWrite = System.nanoTime();
    }
}
