package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed with SIGKILL while persisting learned counts leaves the previous datastore intact and loadable.
 * The target starts as a copy of the shipped default datastore (5.7 MB, so each persist takes long enough to be caught
 * in the middle). A child JVM ({@link PersistLoop}) opens it, learns and persists back over it in a loop; the test
 * kills it at random moments, then opens and verifies the target. Each child goes on from what the last one left, so
 * the counts only grow: the target must always be a complete file, never older than the last persist the child
 * reported nor than what the child started from; the temporary files the kills left are deleted by the next
 * persist.
 */
class PersistCrashTest {
    private static final Path BASE = Corpus.MODEL.resolve("default.aded");
    private static final int KILLS = 8;

    @Test
    void sigkillDuringPersistLeavesTheLastCompleteFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("learned.aded");
        long previous;
        try (Datastore base = Datastore.open(BASE)) {
            previous = new AdaptiveCounts(base).persist(target).tokensCounted();
        }
        Random random = new Random(7);
        int interrupted = 0;
        for (int kill = 0; kill < KILLS; kill++) {
            Process child = new ProcessBuilder(javaBinary(), "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                    PersistLoop.class.getName(), target.toString(), String.valueOf(kill))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            AtomicLong lastPersisted = new AtomicLong(previous);
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            assertEquals("started", out.readLine(), "the child did not start");
            Thread reader = new Thread(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        lastPersisted.set(Long.parseLong(line.substring("persisted ".length())));
                    }
                } catch (IOException e) {
                    // The pipe breaks when the child dies: nothing more to read.
                }
            });
            reader.start();
            // Some kills land before the first persist is done, most in the middle of one.
            Thread.sleep(random.nextInt(1500));
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child outlived SIGKILL");
            assertEquals(137, child.exitValue(), "the child must die of SIGKILL, not of an error of its own");
            reader.join();
            String childFiles = "-" + child.pid() + "-";
            interrupted += tempFiles(dir).stream().anyMatch(p -> p.getFileName().toString().contains(childFiles))
                    ? 1 : 0;

            try (Datastore reopened = Datastore.open(target)) {
                reopened.verify();
                reopened.requireTokenizer(Corpus.TOKENIZER, reopened.vocabSize());
                long counted = reopened.info().tokensCounted();
                // The child may have renamed a newer file into place after its last report, never an older one; it
                // started from the file the previous child left, so that is the floor until its first report.
                assertTrue(counted >= lastPersisted.get(), "kill " + kill + ": the file went back from "
                        + lastPersisted.get() + " to " + counted + " tokens counted");
                previous = counted;
            }
        }
        assertTrue(interrupted > 0, "no kill interrupted a persist (no temporary files were left behind)");
        // What a killed persist leaves behind is inert: the next persist replaces the target all the same, and
        // deletes the leftovers, whose processes are gone.
        try (Datastore base = Datastore.open(BASE)) {
            AdaptiveCounts counts = new AdaptiveCounts(base);
            counts.observe(new int[] {500, 600, 700}, 0, 3);
            assertEquals(base.tokensCounted() + 2, counts.persist(target).tokensCounted());
        }
        assertEquals(List.of(), tempFiles(dir), "temporary files left after the last persist");
        try (Datastore reopened = Datastore.open(target)) {
            reopened.verify();
        }
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static List<Path> tempFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }
}
