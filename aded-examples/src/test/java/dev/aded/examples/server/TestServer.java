package dev.aded.examples.server;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.text.ChatMessage;
import dev.aded.Aded;
import dev.aded.core.Generator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** A server on 127.0.0.1 over the embedded model and default datastore, and the plain HTTP calls tests make. */
final class TestServer implements AutoCloseable {
    static final Path MODEL = Path.of("models", "code-15m");
    static final Path DATASTORE = MODEL.resolve("default.aded");

    final Generator generator;
    final AdedServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestServer(String apiKey, int parallel, int maxQueue) throws Exception {
        // As aded serve builds it on a GPU, batching when more than one generation runs at once (on the CPU it lets
        // them take turns, which is faster there): so that the server's tests cover the batched path too.
        Aded.Builder b = Aded.builder().model(MODEL).datastore(DATASTORE);
        generator = (parallel > 1 ? b.concurrency(parallel).maxQueued(maxQueue) : b).build();
        try {
            server = new AdedServer(generator,
                    new AdedServer.Settings("127.0.0.1", 0, apiKey, parallel, maxQueue, 256, 30_000)).start();
        } catch (Exception e) {
            generator.close();
            throw e;
        }
    }

    URI uri(String path) {
        return server.uri().resolve(path);
    }

    /** What the library's own greedy chat gives for one user message, as the server's chat should. */
    String greedyChat(String user, int maxTokens) {
        GenerationConfig config = generator.chatConfig(GenerationConfig.builder().maxNewTokens(maxTokens).build());
        return generator.chat(List.of(ChatMessage.user(user)), config, null, new Cancellation()).text();
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonObject json(HttpResponse<String> r) {
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** The text of a streamed chat answer: its content deltas joined, checking that the stream ends with [DONE]. */
    static String streamedChatText(String sse) {
        List<String> events = sse.lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        if (events.isEmpty() || !events.get(events.size() - 1).equals("[DONE]")) {
            throw new AssertionError("the stream does not end with data: [DONE]:\n" + sse);
        }
        return events.subList(0, events.size() - 1).stream()
                .map(e -> JsonParser.parseString(e).getAsJsonObject().getAsJsonArray("choices"))
                .filter(c -> !c.isEmpty())
                .map(c -> c.get(0).getAsJsonObject().getAsJsonObject("delta"))
                .filter(d -> d.has("content"))
                .map(d -> d.get("content").getAsString())
                .collect(Collectors.joining());
    }

    /**
     * Starts a streamed completion over a raw socket, which a test can close mid-answer as a client that leaves,
     * and reads up to its first piece of text; returns what was read so far.
     */
    static String startStream(Socket client, String body, String authorization) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = client.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(bytes);
        out.flush();
        InputStream in = client.getInputStream();
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains("\"text\":\"")) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("the stream ended before its first text: " + seen);
            }
            seen.append((char) b);
        }
        return seen.toString();
    }

    /** One metric's value from /metrics, such as {@code aded_running_requests}, or -1 when absent. */
    double metric(String sample) throws IOException, InterruptedException {
        return get("metrics").body().lines().filter(l -> l.startsWith(sample + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(sample.length() + 1))).findFirst().orElse(-1);
    }

    /**
     * The metric once it reads {@code expected}, or its last reading after {@code seconds}: a request's slot and its
     * count are settled just after its last bytes are written, so a client that has read them all may look first.
     */
    double settledMetric(String sample, double expected, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        double value = metric(sample);
        while (value != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
            value = metric(sample);
        }
        return value;
    }

    @Override
    public void close() throws Exception {
        server.close(); // closes the generator too
    }
}
