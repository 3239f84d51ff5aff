package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Leftovers of ended processes go; the files of live writers, of other hosts and of other programs stay. */
class TempFilesTest {

    @Test
    void onlyTheFilesOfEndedProcessesOfThisHostAreDeleted(@TempDir Path dir) throws Exception {
        Path own = TempFiles.create(dir, "keys");
        String name = own.getFileName().toString();
        String ownPid = "-" + ProcessHandle.current().pid() + "-";
        String hostPrefix = name.substring(0, name.indexOf(ownPid) + 1); // ".aded-HOST-"
        long ended = endedProcess();
        Path leftover = Files.createFile(dir.resolve(hostPrefix + ended + "-entries123.tmp"));
        Path otherHost = Files.createFile(dir.resolve(".aded-elsewhere.example-" + ended + "-run123.tmp"));
        Path otherProgram = Files.createFile(dir.resolve("notes-" + ended + "-1.tmp"));
        Path unnumbered = Files.createFile(dir.resolve(hostPrefix + "x-run1.tmp"));

        assertEquals(1, TempFiles.deleteLeftovers(dir));
        assertFalse(Files.exists(leftover), "the leftover of an ended process");
        assertTrue(Files.exists(own), "a live writer's file");
        assertTrue(Files.exists(otherHost), "another host's file: its process cannot be seen from here");
        assertTrue(Files.exists(otherProgram), "a file this library did not name");
        assertTrue(Files.exists(unnumbered), "a name without a process number");
    }

    /** The number of a process that has ended (and, for the test's short span, not been reused). */
    private static long endedProcess() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-version").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "java -version did not end");
        return p.pid();
    }
}
