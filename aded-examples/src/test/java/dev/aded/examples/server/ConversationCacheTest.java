package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.text.ChatMessage;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A conversation's next request runs only its new tokens through the model: the server keeps prefix caches, and
 * the answer is still the one the stateless library call gives.
 */
class ConversationCacheTest {
    private static final int MAX_TOKENS = 24;

    @Test
    void theSecondTurnReusesTheFirstTurnsCacheAndAnswersAsTheLibraryDoes() throws Exception {
        try (TestServer server = new TestServer(null, 1, 4)) {
            JsonArray messages = new JsonArray();
            messages.add(message("user", "def fibonacci(n):"));
            JsonObject first = chat(server, messages);
            assertEquals(0, cached(first), "a new server has nothing cached");
            String answer = first.getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonObject("message")
                    .get("content").getAsString();

            messages.add(message("assistant", answer));
            messages.add(message("user", "def factorial(n):"));
            JsonObject second = chat(server, messages);
            int promptTokens = second.getAsJsonObject("usage").get("prompt_tokens").getAsInt();
            int firstPrompt = first.getAsJsonObject("usage").get("prompt_tokens").getAsInt();
            assertTrue(cached(second) >= firstPrompt - 1 && cached(second) < promptTokens,
                    "cached " + cached(second) + " of " + promptTokens + " prompt tokens, the first turn had "
                            + firstPrompt);

            List<ChatMessage> conversation = List.of(ChatMessage.user("def fibonacci(n):"),
                    ChatMessage.assistant(answer), ChatMessage.user("def factorial(n):"));
            GenerationConfig config = server.generator.chatConfig(GenerationConfig.builder()
                    .maxNewTokens(MAX_TOKENS).build());
            String expected = server.generator.chat(conversation, config, null, new Cancellation()).text();
            assertEquals(expected, second.getAsJsonArray("choices").get(0).getAsJsonObject()
                    .getAsJsonObject("message").get("content").getAsString());
        }
    }

    private static JsonObject chat(TestServer server, JsonArray messages) throws Exception {
        JsonObject body = new JsonObject();
        body.add("messages", messages);
        body.addProperty("temperature", 0);
        body.addProperty("max_tokens", MAX_TOKENS);
        HttpResponse<String> r = server.post("v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r);
    }

    private static int cached(JsonObject response) {
        return response.getAsJsonObject("usage").getAsJsonObject("prompt_tokens_details").get("cached_tokens")
                .getAsInt();
    }

    private static JsonObject message(String role, String content) {
        JsonObject m = new JsonObject();
        m.addProperty("role", role);
        m.addProperty("content", content);
        return m;
    }
}
