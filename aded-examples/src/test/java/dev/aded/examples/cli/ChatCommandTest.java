package dev.aded.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Drives the chat program through stdin, as a person at a terminal would. */
class ChatCommandTest {

    @Test
    void answersSwitchesModesShowsStatsAndLeavesAtEndOfInput() {
        String session = String.join("\n", "/help", "def add(a, b):", "/stats", "/mode ar", "def sub(a, b):",
                "/stats", "/mode turbo", "/reset", "/nonsense", "") ;
        InputStream oldIn = System.in;
        System.setIn(new ByteArrayInputStream(session.getBytes(StandardCharsets.UTF_8)));
        CliUsageTest.Run r;
        try {
            r = CliUsageTest.run("chat", "--model", "models/code-15m", "--datastore", "models/code-15m/default.aded",
                    "--max-new-tokens", "24");
        } finally {
            System.setIn(oldIn);
        }
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("mode aded"), out);
        assertTrue(out.contains("/reset clears the history"), out);
        assertTrue(out.contains("tokens/s") && out.contains("mean accepted tokens per step"), out);
        assertTrue(out.contains("(mode ar)"), out);
        assertTrue(out.contains("unknown mode 'turbo'"), out);
        assertTrue(out.contains("(history cleared)"), out);
        assertTrue(out.contains("(unknown command /nonsense"), out);
        assertTrue(out.contains("speedup"), out);
    }
}
