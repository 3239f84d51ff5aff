package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LangChain4j's OpenAI module, a client this project did not write, against aded serve on 127.0.0.1. */
class LangChain4jClientTest {
    private static final String KEY = "test-key";
    private static final String PROMPT = "def fibonacci(n):";
    private static final int MAX_TOKENS = 48;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(KEY, 4, 16);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String baseUrl() {
        return server.uri("v1").toString();
    }

    @Test
    void chatGivesWhatGenerateGives() {
        ChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl()).apiKey(KEY).modelName("code-15m")
                .temperature(0.0).maxTokens(MAX_TOKENS).timeout(Duration.ofMinutes(2)).build();
        ChatResponse r = model.chat(dev.langchain4j.data.message.UserMessage.from(PROMPT));
        String expected = server.greedyChat(PROMPT, MAX_TOKENS);
        assertFalse(expected.isBlank());
        assertEquals(expected, r.aiMessage().text());
        assertTrue(r.tokenUsage().outputTokenCount() > 0, "usage: " + r.tokenUsage());
        assertEquals(r.tokenUsage().inputTokenCount() + r.tokenUsage().outputTokenCount(),
                r.tokenUsage().totalTokenCount());
    }

    @Test
    void streamingChatGivesWhatGenerateGivesPieceByPiece() throws Exception {
        StreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(baseUrl()).apiKey(KEY)
                .modelName("code-15m").temperature(0.0).maxTokens(MAX_TOKENS).timeout(Duration.ofMinutes(2))
                .build();
        StringBuilder pieces = new StringBuilder();
        int[] partials = {0};
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(PROMPT, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.append(partial);
                partials[0]++;
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(2, TimeUnit.MINUTES);
        String expected = server.greedyChat(PROMPT, MAX_TOKENS);
        assertEquals(expected, pieces.toString());
        assertEquals(expected, r.aiMessage().text());
        assertTrue(partials[0] > 1, "the answer came in " + partials[0] + " piece(s), not streamed");
        assertTrue(r.tokenUsage() != null && r.tokenUsage().outputTokenCount() > 0, "usage: " + r.tokenUsage());
    }
}
