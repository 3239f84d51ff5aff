package dev.aded.examples.cli;

import dev.aded.core.Generator;
import dev.aded.examples.server.AdedServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** An OpenAI-compatible HTTP server with a web chat page, until SIGTERM or Ctrl-C (docs/server.md). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions,"
                + " /v1/models, /health, /metrics) with a web chat page at /.")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "default: ${DEFAULT-VALUE}")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:ADED_API_KEY}",
            description = "require Authorization: Bearer KEY on /v1/ (default: $ADED_API_KEY, else no key)")
    String apiKey;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "4",
            description = "generations running at once; on a GPU their draft trees are verified in one forward pass"
                    + " per step (default: ${DEFAULT-VALUE})")
    int parallel;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "64",
            description = "requests waiting beyond those before 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--default-max-tokens", paramLabel = "N", defaultValue = "256",
            description = "answer length when a request names no max_tokens (default: ${DEFAULT-VALUE})")
    int defaultMaxTokens;

    @Option(names = "--persist", paramLabel = "FILE",
            description = "where the learned counts are written at shutdown (default: the --datastore file given;"
                    + " the embedded default datastore is not rewritten)")
    Path persist;

    @Option(names = "--stop-timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "how long shutdown lets running requests finish (default: ${DEFAULT-VALUE})")
    long stopTimeout;

    @Override
    public Integer call() throws Exception {
        Path persistTo = persist != null ? persist : model.datastore;
        // On a CPU a batched pass costs about as much as its sequences' passes one after another, and pads them
        // besides (docs/benchmarks.md): the generations take turns there instead.
        Generator p = model.open(persistTo, model.onGpu() ? parallel : 1, maxQueue);
        AdedServer server;
        try {
            server = new AdedServer(p, new AdedServer.Settings(host, port, apiKey, parallel, maxQueue,
                    defaultMaxTokens, stopTimeout * 1000)).start();
        } catch (Exception e) {
            p.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.err.println("aded serve: stopping; running requests finish first");
            try {
                server.close();
                if (persistTo != null) {
                    System.err.println("aded serve: learned counts persisted to " + persistTo);
                }
            } catch (Exception e) {
                System.err.println("aded serve: " + e.getMessage());
            } finally {
                stopped.countDown();
            }
        }, "aded-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.err.printf("aded serve: %s on %s at %s (chat page there; API under %sv1/)%s%n", p.model().name(),
                p.model().device(), server.uri(), server.uri(),
                persistTo != null ? ", learned counts persisted to " + persistTo + " at shutdown" : "");
        server.join();
        stopped.await();
        return 0;
    }
}
