package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * 16 streaming clients at once, four generating and the rest queued, each get exactly the answer they get alone
 * (greedy), which is also what the library's own chat gives.
 */
class ConcurrentStreamsTest {
    private static final int CLIENTS = 16;
    private static final int MAX_TOKENS = 24;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(null, 4, CLIENTS);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String body(String prompt) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": " + Reply.GSON.toJson(prompt) + "}], \"stream\": true,"
                + " \"temperature\": 0, \"max_tokens\": " + MAX_TOKENS + "}";
    }

    private static String ask(String prompt) throws Exception {
        HttpResponse<String> r = server.post("v1/chat/completions", body(prompt));
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.streamedChatText(r.body());
    }

    @Test
    void sixteenConcurrentStreamsEachGiveTheirSingleClientAnswer() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            prompts.add("def function_" + i + "(items, limit=" + i + "):");
        }
        List<String> alone = new ArrayList<>();
        for (String p : prompts) {
            String answer = ask(p);
            assertFalse(answer.isEmpty(), p);
            assertEquals(server.greedyChat(p, MAX_TOKENS), answer, p);
            alone.add(answer);
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<String>> together = new ArrayList<>();
            for (String p : prompts) {
                together.add(pool.submit(() -> ask(p)));
            }
            for (int i = 0; i < CLIENTS; i++) {
                assertEquals(alone.get(i), together.get(i).get(), prompts.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, server.settledMetric("aded_running_requests", 0, 5));
        assertEquals(0, server.settledMetric("aded_queue_depth", 0, 5));
        assertEquals(2 * CLIENTS, server.settledMetric(
                "aded_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}", 2 * CLIENTS, 5));
        double passes = server.metric("aded_scheduler_passes_total");
        double waited = server.metric("aded_scheduler_passes_started_by_wait_total");
        assertTrue(passes > 0 && waited >= 0 && waited <= passes,
                passes + " passes, " + waited + " started by the wait");
    }
}
