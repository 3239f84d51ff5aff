package dev.aded.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/** The command line's contract: subcommands, help, and exit code 2 with one error line plus usage. */
class CliUsageTest {

    /** Captured output of one run. */
    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        return capture(() -> AdedCli.run(args));
    }

    static synchronized Run capture(IntSupplier body) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = body.getAsInt();
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void helpListsEverySubcommand() {
        Run r = run("--help");
        assertEquals(0, r.code());
        for (String sub : new String[] {"datastore", "generate", "chat", "bench"}) {
            assertTrue(r.out().contains(sub), "missing " + sub + " in\n" + r.out());
        }
    }

    @Test
    void eachSubcommandHasHelp() {
        for (String[] args : new String[][] {{"generate", "--help"}, {"chat", "--help"}, {"bench", "--help"},
            {"datastore", "--help"}, {"datastore", "build", "--help"}, {"datastore", "info", "--help"}}) {
            Run r = run(args);
            assertEquals(0, r.code(), String.join(" ", args));
            assertTrue(r.out().contains("Usage: aded " + args[0]), r.out());
        }
    }

    @Test
    void aWrongFlagPrintsOneErrorLineAndTheUsageWithExitCode2() {
        Run r = run("generate", "--temprature", "1");
        assertEquals(2, r.code());
        String[] lines = r.err().split("\n");
        assertTrue(lines[0].startsWith("aded generate: Unknown option") && lines[0].contains("'--temprature'"), lines[0]);
        assertTrue(r.err().contains("Usage: aded generate"), r.err());
    }

    @Test
    void aMissingRequiredOptionIsAUsageError() {
        Run r = run("bench", "--json", "x.json");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--prompts"), r.err());
    }

    @Test
    void badValuesFailWithAClearMessage() {
        Run r = run("generate", "--temperature", "-1", "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("temperature must be a finite number >= 0"), r.err());
        r = run("generate", "--mode", "turbo", "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown mode 'turbo'"), r.err());
        r = run("generate", "--device", "tpu", "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown device 'tpu'"), r.err());
        r = run("generate", "--min-p", "2", "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("minP must be in [0, 1]"), r.err());
        r = run("generate", "--logprobs", "50", "--prompt", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("topLogprobs must be in [0, 20]"), r.err());
    }
}
