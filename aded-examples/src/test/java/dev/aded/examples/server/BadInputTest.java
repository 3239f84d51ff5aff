package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.net.Socket;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each way a request can be refused, with its status and OpenAI-style error, and a client that leaves mid-answer.
 * One running slot and no queue, so a second request while one runs is refused with 429.
 */
class BadInputTest {
    private static final String KEY = "s3cret";
    private static final String AUTH = "Bearer " + KEY;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(KEY, 1, 0);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "malformed JSON           | v1/chat/completions | {\"messages\": [           | 400 | invalid_json            |",
        "not an object            | v1/chat/completions | [1, 2]                     | 400 | invalid_json            |",
        "no messages              | v1/chat/completions | {\"max_tokens\": 8}        | 400 | invalid_value           | messages",
        "empty messages           | v1/chat/completions | {\"messages\": []}         | 400 | invalid_value           | messages",
        "messages not an array    | v1/chat/completions | {\"messages\": \"hi\"}     | 400 | invalid_value           | messages",
        "unknown role             | v1/chat/completions | {\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]} | 400 | invalid_value | messages[0].role",
        "content a number         | v1/chat/completions | {\"messages\": [{\"role\": \"user\", \"content\": 7}]} | 400 | invalid_value | messages[0].content",
        "max_tokens a string      | v1/chat/completions | {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": \"ten\"} | 400 | invalid_value | max_tokens",
        "max_tokens a fraction    | v1/completions      | {\"prompt\": \"hi\", \"max_tokens\": 2.5} | 400 | invalid_value | max_tokens",
        "max_tokens zero          | v1/completions      | {\"prompt\": \"hi\", \"max_tokens\": 0} | 400 | invalid_value | max_tokens",
        "temperature a string     | v1/completions      | {\"prompt\": \"hi\", \"temperature\": \"hot\"} | 400 | invalid_value | temperature",
        "temperature too high     | v1/completions      | {\"prompt\": \"hi\", \"temperature\": 7} | 400 | invalid_value | temperature",
        "stream not a boolean     | v1/completions      | {\"prompt\": \"hi\", \"stream\": \"yes\"} | 400 | invalid_value | stream",
        "stop a number            | v1/completions      | {\"prompt\": \"hi\", \"stop\": 5} | 400 | invalid_value | stop",
        "unknown mode             | v1/completions      | {\"prompt\": \"hi\", \"mode\": \"turbo\"} | 400 | invalid_value | mode",
        "no prompt                | v1/completions      | {\"max_tokens\": 8}        | 400 | invalid_value           | prompt",
        "top_logprobs too many    | v1/chat/completions | {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true, \"top_logprobs\": 50} | 400 | invalid_value | top_logprobs",
        "top_logprobs alone       | v1/chat/completions | {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2} | 400 | invalid_value | top_logprobs",
        "logprobs a boolean       | v1/completions      | {\"prompt\": \"hi\", \"logprobs\": true} | 400 | invalid_value | logprobs",
        "tools                    | v1/chat/completions | {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\"}]} | 400 | unsupported_parameter | tools",
        "n too large              | v1/completions      | {\"prompt\": \"hi\", \"n\": 100} | 400 | invalid_value | n",
        "max_tokens beyond context| v1/completions      | {\"prompt\": \"def f():\", \"max_tokens\": 4096} | 400 | context_length_exceeded | prompt",
    })
    void refusesWithTheFieldNamed(String what, String path, String body, int status, String code, String param)
            throws Exception {
        HttpResponse<String> r = server.post(path, body, "Authorization", AUTH);
        assertEquals(status, r.statusCode(), what + ": " + r.body());
        JsonObject error = TestServer.json(r).getAsJsonObject("error");
        assertEquals(code, error.get("code").getAsString(), r.body());
        assertEquals("invalid_request_error", error.get("type").getAsString(), r.body());
        assertTrue(!error.get("message").getAsString().isBlank(), r.body());
        if (param != null) {
            assertEquals(param, error.get("param").getAsString(), r.body());
        }
    }

    @Test
    void aPromptBeyondTheContextIsRefusedWithBothLengths() throws Exception {
        String prompt = "x = 1\n".repeat(2000);
        HttpResponse<String> r = server.post("v1/chat/completions",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"" + prompt.replace("\n", "\\n") + "\"}]}",
                "Authorization", AUTH);
        assertEquals(400, r.statusCode(), r.body());
        JsonObject error = TestServer.json(r).getAsJsonObject("error");
        assertEquals("context_length_exceeded", error.get("code").getAsString());
        assertTrue(error.get("message").getAsString().contains("maximum context length is 2048 tokens"), r.body());
    }

    @Test
    void aMissingOrWrongKeyIsRefusedWith401() throws Exception {
        String body = "{\"prompt\": \"hi\", \"max_tokens\": 1}";
        HttpResponse<String> none = server.post("v1/completions", body);
        assertEquals(401, none.statusCode());
        assertEquals("invalid_api_key", TestServer.json(none).getAsJsonObject("error").get("code").getAsString());
        HttpResponse<String> wrong = server.post("v1/completions", body, "Authorization", "Bearer nope");
        assertEquals(401, wrong.statusCode());
        assertEquals(200, server.post("v1/completions", body, "Authorization", AUTH).statusCode());
        assertEquals(200, server.get("health").statusCode(), "health needs no key");
    }

    @Test
    void unknownPathsAndMethodsGetErrors() throws Exception {
        assertEquals(404, server.get("v1/embeddings").statusCode());
        assertEquals(405, server.get("v1/chat/completions").statusCode());
    }

    @Test
    void aFullQueueGives429AndAClientThatLeavesIsCancelled() throws Exception {
        double tokensBefore = server.metric("aded_completion_tokens_total{mode=\"aded\"}");
        String body = "{\"prompt\": \"def fibonacci(n):\\n\", \"max_tokens\": 1500, \"temperature\": 0, \"stream\": true}";
        try (Socket client = new Socket("127.0.0.1", server.uri("/").getPort())) {
            TestServer.startStream(client, body, AUTH);
            assertEquals(1, server.metric("aded_running_requests"));

            HttpResponse<String> busy = server.post("v1/completions", "{\"prompt\": \"hi\"}", "Authorization", AUTH);
            assertEquals(429, busy.statusCode(), busy.body());
            assertEquals("1", busy.headers().firstValue("Retry-After").orElse(null));
            assertEquals("queue_full", TestServer.json(busy).getAsJsonObject("error").get("code").getAsString());
        }
        assertEquals(0, server.settledMetric("aded_running_requests", 0, 20),
                "the generation went on after its client left");
        assertEquals(1, server.metric("aded_errors_total{kind=\"client_disconnected\"}"));
        double generated = server.metric("aded_completion_tokens_total{mode=\"aded\"}") - Math.max(0, tokensBefore);
        assertTrue(generated < 1500, "the generation ran to its end: " + generated + " tokens");
        assertEquals(200, server.post("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2}", "Authorization",
                AUTH).statusCode(), "the slot was not freed");
    }
}
