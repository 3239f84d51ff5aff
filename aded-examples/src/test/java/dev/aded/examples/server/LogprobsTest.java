package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.TokenLogprobs;
import dev.aded.core.text.ChatMessage;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Log-probabilities through the server, in OpenAI's chat and completions shapes, against the library's own. */
class LogprobsTest {
    private static final String PROMPT = "def fibonacci(n):";
    private static final int MAX_TOKENS = 12;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(null, 2, 4);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void chatReportsEachTokenWithItsAlternativesAsTheLibraryDoes() throws Exception {
        HttpResponse<String> r = server.post("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\":"
                + " \"" + PROMPT + "\"}], \"temperature\": 0, \"max_tokens\": " + MAX_TOKENS
                + ", \"logprobs\": true, \"top_logprobs\": 3}");
        assertEquals(200, r.statusCode(), r.body());
        JsonObject choice = TestServer.json(r).getAsJsonArray("choices").get(0).getAsJsonObject();
        JsonArray content = choice.getAsJsonObject("logprobs").getAsJsonArray("content");

        GenerationConfig config = server.generator.chatConfig(GenerationConfig.builder().maxNewTokens(MAX_TOKENS)
                .logprobs(true).topLogprobs(3).build());
        GenerationResult expected = server.generator.chat(List.of(ChatMessage.user(PROMPT)), config, null,
                new Cancellation());
        List<TokenLogprobs> library = expected.logprobs();
        assertEquals(library.size(), content.size(), r.body());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonObject entry = content.get(i).getAsJsonObject();
            JsonArray top = entry.getAsJsonArray("top_logprobs");
            assertEquals(3, top.size());
            // Within float noise: the server's pass ran over a prefix cache, the library's over a fresh session.
            assertEquals(library.get(i).logprob(), entry.get("logprob").getAsDouble(), 1e-5);
            // Greedy: the chosen token is the likeliest one.
            assertEquals(entry.get("token").getAsString(), top.get(0).getAsJsonObject().get("token").getAsString());
            assertTrue(entry.get("logprob").getAsDouble() <= 0);
            text.append(entry.get("token").getAsString());
        }
        assertTrue(expected.text().startsWith(text.toString().strip()) || text.toString().startsWith(expected.text()),
                "tokens " + text + " against the answer " + expected.text());
    }

    @Test
    void completionsGiveTheLegacyShapeAndStreamsCarryItInTheLastChunk() throws Exception {
        HttpResponse<String> r = server.post("v1/completions", "{\"prompt\": \"" + PROMPT + "\", \"temperature\": 0,"
                + " \"max_tokens\": " + MAX_TOKENS + ", \"logprobs\": 2}");
        assertEquals(200, r.statusCode(), r.body());
        JsonObject choice = TestServer.json(r).getAsJsonArray("choices").get(0).getAsJsonObject();
        JsonObject logprobs = choice.getAsJsonObject("logprobs");
        JsonArray tokens = logprobs.getAsJsonArray("tokens");
        assertEquals(tokens.size(), logprobs.getAsJsonArray("token_logprobs").size());
        assertEquals(tokens.size(), logprobs.getAsJsonArray("text_offset").size());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens.size(); i++) {
            assertEquals(text.length(), logprobs.getAsJsonArray("text_offset").get(i).getAsInt());
            assertTrue(logprobs.getAsJsonArray("top_logprobs").get(i).getAsJsonObject().size() <= 2);
            text.append(tokens.get(i).getAsString());
        }
        assertEquals(choice.get("text").getAsString(), text.toString());

        HttpResponse<String> streamed = server.post("v1/completions", "{\"prompt\": \"" + PROMPT + "\","
                + " \"temperature\": 0, \"max_tokens\": " + MAX_TOKENS + ", \"logprobs\": 2, \"stream\": true}");
        assertEquals(200, streamed.statusCode(), streamed.body());
        String last = streamed.body().lines().filter(l -> l.contains("\"finish_reason\":\"")).findFirst()
                .orElseThrow(() -> new AssertionError("no finishing chunk in " + streamed.body()));
        assertTrue(last.contains("\"token_logprobs\""), last);
    }
}
