package dev.aded.examples.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.aded.core.Admission;
import dev.aded.core.Cancellation;
import dev.aded.core.GeneratorBusyException;
import dev.aded.core.Generator;
import dev.aded.core.TextListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code aded serve}: an OpenAI-compatible HTTP server over one {@link Generator}, which it owns, with the web chat
 * page at {@code /}. {@link #close()} stops it the way SIGTERM should: no new requests, running ones finish (up to
 * the stop timeout), then the generator closes, persisting the learned counts when it was built to
 * ({@code Aded.Builder.persistLearnedCounts}).
 */
public final class AdedServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdedServer.class);
    private static final int MAX_BODY_BYTES = 8 << 20;
    private static final String CHAT = "/v1/chat/completions";
    private static final String COMPLETIONS = "/v1/completions";

    private final Generator generator;
    private final Backend backend;
    private final Admission admission;
    private final Metrics metrics;
    private final byte[] apiKey;
    private final byte[] page;
    private final Server server;
    private final ServerConnector connector;

    /**
     * What {@code aded serve}'s options set.
     *
     * @param apiKey the key clients must send as {@code Authorization: Bearer KEY}, or null for none
     * @param parallel generations running at once
     * @param maxQueue requests waiting beyond those before 429
     * @param defaultMaxTokens answer length when a request names no max_tokens
     * @param stopTimeoutMillis how long {@link #close()} lets running requests finish
     */
    public record Settings(String host, int port, String apiKey, int parallel, int maxQueue, int defaultMaxTokens,
            long stopTimeoutMillis) {}

    public AdedServer(Generator generator, Settings s) {
        this.generator = generator;
        this.backend = new Backend(generator, s.defaultMaxTokens(), s.parallel());
        this.admission = new Admission(s.parallel(), s.maxQueue());
        this.metrics = new Metrics(admission::waiting, admission::running, generator::passCounts);
        this.apiKey = s.apiKey() == null || s.apiKey().isEmpty() ? null : s.apiKey().getBytes(StandardCharsets.UTF_8);
        try (InputStream in = AdedServer.class.getResourceAsStream("index.html")) {
            this.page = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("the web chat page is missing from the jar", e);
        }
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("aded-serve");
        this.server = new Server(threads);
        this.connector = new ServerConnector(server);
        connector.setHost(s.host());
        connector.setPort(s.port());
        server.addConnector(connector);
        server.setHandler(new GracefulHandler(new Routes()));
        server.setStopTimeout(s.stopTimeoutMillis());
    }

    public AdedServer start() throws Exception {
        server.start();
        return this;
    }

    /** Where the server listens, such as {@code http://127.0.0.1:8080/}. */
    public URI uri() {
        return URI.create("http://" + connector.getHost() + ":" + connector.getLocalPort() + "/");
    }

    /** Blocks until the server has stopped. */
    public void join() throws InterruptedException {
        server.join();
    }

    /** Stops taking requests, lets the running ones finish, then closes the generator. */
    @Override
    public void close() throws Exception {
        try {
            server.stop();
        } finally {
            backend.close();
            generator.close();
        }
    }

    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = request.getHttpURI().getPath();
            int status = 200;
            try {
                switch (path) {
                    case "/", "/index.html" -> {
                        requireMethod(request, "GET");
                        send(response, callback, 200, "text/html; charset=utf-8", page);
                    }
                    case "/health" -> {
                        requireMethod(request, "GET");
                        JsonObject o = new JsonObject();
                        o.addProperty("status", "ok");
                        o.addProperty("model", backend.modelId());
                        sendJson(response, callback, 200, o);
                    }
                    case "/metrics" -> {
                        requireMethod(request, "GET");
                        send(response, callback, 200, "text/plain; version=0.0.4; charset=utf-8",
                                metrics.render().getBytes(StandardCharsets.UTF_8));
                    }
                    case "/v1/models" -> {
                        requireMethod(request, "GET");
                        authorize(request);
                        sendJson(response, callback, 200, models());
                    }
                    case CHAT, COMPLETIONS -> {
                        requireMethod(request, "POST");
                        authorize(request);
                        status = complete(request, response, callback, path.equals(CHAT));
                    }
                    default -> throw new ApiException(404, "invalid_request_error", "unknown_url", null,
                            "no such endpoint: " + request.getMethod() + " " + path);
                }
            } catch (ApiException e) {
                status = e.status();
                metrics.error(e.kind());
                if (e.status() == 429) {
                    response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
                }
                if (e.status() == 401) {
                    response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
                }
                sendJson(response, callback, e.status(), e.toJson());
            } catch (RuntimeException e) {
                LOG.error("{} {} failed", request.getMethod(), path, e);
                status = 500;
                metrics.error("internal_error");
                sendJson(response, callback, 500, new ApiException(500, "server_error", "internal_error", null,
                        "the server failed: " + e).toJson());
            }
            if (path.startsWith("/v1/")) {
                metrics.request(path, status);
            }
            return true;
        }
    }

    /** Runs a completion request to its end; returns the status it was answered with (499: the client left). */
    private int complete(Request request, Response response, Callback callback, boolean chat) {
        CompletionRequest r = CompletionRequest.parse(body(request), chat);
        Backend.Job job = backend.prepare(r);
        Reply reply = new Reply(response, r.stream(), chat, backend.modelId());
        Cancellation cancellation = new Cancellation();
        try (Admission.Ticket ticket = enter()) {
            ticket.awaitTurn(reply::beat);
            metrics.prompt(job.promptTokens());
            List<Backend.Outcome> outcomes = new ArrayList<>();
            Progress progress = new Progress(job.mode());
            for (int i = 0; i < r.n() && !cancellation.isCancelled(); i++) {
                reply.begin(i);
                progress.reset();
                int index = i;
                Backend.Outcome o = backend.run(job, i, new TextListener() {
                    @Override
                    public void onText(String piece) {
                        writeOrCancel(() -> reply.text(index, piece, progress.json()), cancellation);
                    }

                    @Override
                    public void onStep(int tokens) {
                        metrics.pass(job.mode(), tokens);
                        progress.step(tokens);
                        writeOrCancel(reply::beat, cancellation);
                    }
                }, cancellation);
                metrics.generation(job.mode(), o.completionTokens(), progress.nanos());
                outcomes.add(o);
                if (!o.cancelled()) {
                    reply.end(i, o);
                }
            }
            if (cancellation.isCancelled()) {
                return clientLeft(callback, null);
            }
            reply.finish(outcomes, job.promptTokens(), summary(job.mode(), outcomes));
            response.write(true, null, callback);
            return 200;
        } catch (IOException e) {
            return clientLeft(callback, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return clientLeft(callback, e);
        } catch (ApiException e) {
            if (!reply.started()) {
                throw e;
            }
            return failStarted(reply, callback, e);
        } catch (RuntimeException e) {
            LOG.error("a completion failed", e);
            ApiException internal = new ApiException(500, "server_error", "internal_error", null,
                    "generation failed: " + e);
            if (!reply.started()) {
                throw internal;
            }
            return failStarted(reply, callback, internal);
        }
    }

    private Admission.Ticket enter() {
        try {
            return admission.enter();
        } catch (GeneratorBusyException e) {
            throw new ApiException(429, "rate_limit_exceeded", "queue_full", null, "the server is " + e.getMessage());
        }
    }

    /** One choice's generation so far, sent with each streamed piece for a live display. */
    private static final class Progress {
        private final String mode;
        private long start;
        private int tokens;
        private int passes;

        Progress(String mode) {
            this.mode = mode;
        }

        void reset() {
            start = System.nanoTime();
            tokens = 0;
            passes = 0;
        }

        void step(int accepted) {
            tokens += accepted;
            passes++;
        }

        long nanos() {
            return System.nanoTime() - start;
        }

        JsonObject json() {
            JsonObject o = new JsonObject();
            o.addProperty("mode", mode);
            o.addProperty("tokens", tokens);
            o.addProperty("forward_passes", passes);
            o.addProperty("elapsed_ms", nanos() / 1_000_000);
            return o;
        }
    }

    private int failStarted(Reply reply, Callback callback, ApiException e) {
        metrics.error(e.kind());
        try {
            reply.fail(e);
            callback.succeeded();
        } catch (IOException gone) {
            callback.failed(gone);
        }
        return 200;
    }

    private int clientLeft(Callback callback, Exception cause) {
        metrics.error("client_disconnected");
        callback.failed(cause != null ? cause : new IOException("the client disconnected"));
        return 499;
    }

    /** A write the generation's listener makes; a client that has gone cancels the generation. */
    private interface Write {
        void run() throws IOException;
    }

    private static void writeOrCancel(Write write, Cancellation cancellation) {
        if (cancellation.isCancelled()) {
            return;
        }
        try {
            write.run();
        } catch (IOException e) {
            cancellation.cancel();
        }
    }

    private static JsonObject summary(String mode, List<Backend.Outcome> outcomes) {
        JsonObject o = new JsonObject();
        o.addProperty("mode", mode);
        int tokens = outcomes.stream().mapToInt(Backend.Outcome::completionTokens).sum();
        int passes = outcomes.stream().mapToInt(Backend.Outcome::passes).sum();
        o.addProperty("forward_passes", passes);
        o.addProperty("accepted_tokens_per_pass", outcomes.size() == 1 ? outcomes.get(0).acceptedPerPass()
                : passes == 0 ? 0 : (double) tokens / passes);
        o.addProperty("tokens_per_second", outcomes.stream().mapToDouble(Backend.Outcome::tokensPerSecond)
                .average().orElse(0));
        return o;
    }

    private JsonObject models() {
        JsonObject model = new JsonObject();
        model.addProperty("id", backend.modelId());
        model.addProperty("object", "model");
        model.addProperty("created", 0);
        model.addProperty("owned_by", "aded");
        model.addProperty("context_length", backend.contextLength());
        model.add("modes", Reply.GSON.toJsonTree(backend.modes()));
        JsonArray data = new JsonArray();
        data.add(model);
        JsonObject o = new JsonObject();
        o.addProperty("object", "list");
        o.add("data", data);
        return o;
    }

    private void authorize(Request request) {
        if (apiKey == null) {
            return;
        }
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (header == null || !header.startsWith("Bearer ")) {
            throw new ApiException(401, "invalid_request_error", "invalid_api_key", null,
                    "missing API key: send the header Authorization: Bearer KEY");
        }
        if (!MessageDigest.isEqual(apiKey, header.substring(7).strip().getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(401, "invalid_request_error", "invalid_api_key", null, "incorrect API key");
        }
    }

    private static void requireMethod(Request request, String method) {
        if (!request.getMethod().equals(method)) {
            throw new ApiException(405, "invalid_request_error", "method_not_allowed", null,
                    request.getHttpURI().getPath() + " takes " + method + ", not " + request.getMethod());
        }
    }

    private static String body(Request request) {
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
            if (bytes.length > MAX_BODY_BYTES) {
                throw new ApiException(413, "invalid_request_error", "request_too_large", null,
                        "the request body is over " + (MAX_BODY_BYTES >> 20) + " MB");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ApiException(400, "invalid_request_error", "invalid_body", null,
                    "could not read the request body: " + e.getMessage());
        }
    }

    private static void sendJson(Response response, Callback callback, int status, JsonObject body) {
        send(response, callback, status, "application/json; charset=utf-8",
                Reply.GSON.toJson(body).getBytes(StandardCharsets.UTF_8));
    }

    private static void send(Response response, Callback callback, int status, String type, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.write(true, java.nio.ByteBuffer.wrap(body), callback);
    }
}
