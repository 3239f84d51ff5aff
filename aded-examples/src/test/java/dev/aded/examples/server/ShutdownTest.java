package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.datastore.Datastore;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a running {@code aded serve} (a child JVM): the answer being streamed runs to its end, new
 * connections are refused, the learned counts are persisted, and the process exits.
 */
class ShutdownTest {
    private static final Pattern LISTENING = Pattern.compile("at http://127\\.0\\.0\\.1:(\\d+)/");

    @Test
    void sigtermFinishesTheRunningAnswerPersistsAndExits(@TempDir Path dir) throws Exception {
        Path learned = dir.resolve("learned.aded");
        Path log = dir.resolve("serve.log");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), "dev.aded.examples.cli.AdedCli", "serve",
                "--model", TestServer.MODEL.toString(), "--datastore", TestServer.DATASTORE.toString(),
                "--persist", learned.toString(), "--port", "0").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(log.toFile()).start();
        try {
            int port = -1;
            long started = System.nanoTime();
            while (port < 0 && child.isAlive() && System.nanoTime() - started < 120_000_000_000L) {
                Matcher m = LISTENING.matcher(Files.readString(log));
                port = m.find() ? Integer.parseInt(m.group(1)) : -1;
                Thread.sleep(50);
            }
            assertTrue(port > 0, "the server never said where it listens: " + Files.readString(log));

            String body = "{\"prompt\": \"def fibonacci(n):\\n\", \"max_tokens\": 120, \"temperature\": 0,"
                    + " \"stream\": true}";
            try (Socket client = new Socket("127.0.0.1", port)) {
                StringBuilder stream = new StringBuilder(TestServer.startStream(client, body, null));
                child.destroy();
                long deadline = System.nanoTime() + 30_000_000_000L;
                int port0 = port;
                while (System.nanoTime() < deadline && canConnect(port0)) {
                    Thread.sleep(20);
                }
                assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port0).close(),
                        "still accepting connections after SIGTERM");
                stream.append(new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                assertTrue(stream.toString().contains("\"finish_reason\":\"length\""), stream.toString());
                assertTrue(stream.toString().contains("\"completion_tokens\":120"), stream.toString());
                assertTrue(stream.toString().contains("data: [DONE]"), stream.toString());
            }
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the server did not exit after SIGTERM");
            assertTrue(Files.readString(log).contains("learned counts persisted to " + learned), Files.readString(log));
            try (Datastore base = Datastore.open(TestServer.DATASTORE); Datastore after = Datastore.open(learned)) {
                assertEquals(base.info().tokensCounted() + 120, after.info().tokensCounted());
            }
            assertTrue(Files.size(learned) > 0);
        } finally {
            child.destroyForcibly();
        }
    }

    private static boolean canConnect(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
