package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdaptiveCountsTest {
    @TempDir
    Path dir;
    private Path file;

    @BeforeEach
    void build() throws Exception {
        file = dir.resolve("base.aded");
        Corpus.build(Corpus.write(dir.resolve("corpus")), file, 512L << 20);
    }

    @Test
    void whatTheModelSaysBecomesTheTopContinuation() {
        try (Datastore base = Datastore.open(file)) {
            AdaptiveCounts counts = new AdaptiveCounts(base);
            int[] t = new int[counts.maxEntries()];
            int[] c = new int[counts.maxEntries()];
            int a = 500;
            int b = 600;
            assertEquals(0, counts.trigram(a, b, t, c));
            int[] said = {a, b, 700, a, b, 700, a, b, 701};
            counts.observe(said, 0, said.length);
            int n = counts.trigram(a, b, t, c);
            assertEquals(2, n);
            assertEquals(700, t[0]);
            assertEquals(8, c[0]);
            assertEquals(701, t[1]);
            assertTrue(counts.bigram(b, t, c) >= 2, "the bigram back-off learns too");
            assertEquals(700, t[0]);
            assertEquals(8, c[0]);
        }
    }

    @Test
    void concurrentWritersLoseNoIncrement() throws Exception {
        try (Datastore base = Datastore.open(file)) {
            AdaptiveCounts counts = new AdaptiveCounts(base, 1, 1 << 20);
            int threads = 16;
            int rounds = 2000;
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                int id = w;
                Thread t = new Thread(() -> {
                    int[] tok = new int[counts.maxEntries()];
                    int[] cnt = new int[counts.maxEntries()];
                    for (int r = 0; r < rounds; r++) {
                        int[] seq = {10 + r % 7, 20, 30 + id % 4};
                        counts.observe(seq, 2, 3);
                        counts.trigram(10, 20, tok, cnt); // readers interleave with writers
                    }
                });
                workers.add(t);
                t.start();
            }
            for (Thread t : workers) {
                t.join();
            }
            long total = 0;
            for (int a = 10; a < 17; a++) {
                for (int c = 30; c < 34; c++) {
                    total += counts.learnedCount(a, 20, c);
                }
            }
            assertEquals((long) threads * rounds, total);
            assertEquals((long) threads * rounds, counts.observedTokens());
        }
    }

    @Test
    void persistWritesTheMergedCountsAtomically() throws Exception {
        Path learnedFile = dir.resolve("learned.aded");
        try (Datastore base = Datastore.open(file)) {
            AdaptiveCounts counts = new AdaptiveCounts(base);
            int[] said = {500, 600, 700, 500, 600, 700};
            counts.observe(said, 0, said.length);
            counts.persist(learnedFile);
            try (Datastore reopened = Datastore.open(learnedFile)) {
                reopened.verify();
                int[] t1 = new int[counts.maxEntries()];
                int[] c1 = new int[counts.maxEntries()];
                int[] t2 = new int[counts.maxEntries()];
                int[] c2 = new int[counts.maxEntries()];
                for (int i = 0; i < base.contexts(); i++) {
                    long key = base.contextKey(i);
                    int a = (int) (key / base.vocabSize());
                    int b = (int) (key % base.vocabSize());
                    int n = Math.min(counts.trigram(a, b, t1, c1), base.topK());
                    assertEquals(n, reopened.trigram(a, b, t2, c2));
                    assertArrayEquals(java.util.Arrays.copyOf(t1, n), java.util.Arrays.copyOf(t2, n));
                }
                assertEquals(700, reopened.trigram(500, 600, t2, c2) > 0 ? t2[0] : -1);
                reopened.requireTokenizer(Corpus.TOKENIZER, 8192);
            }
        }
        // A persist that cannot finish leaves the existing file as it was.
        byte[] before = Files.readAllBytes(learnedFile);
        try (Datastore base = Datastore.open(file)) {
            Path blocked = dir.resolve("no-such-dir").resolve("x.aded");
            assertThrows(java.io.IOException.class, () -> new AdaptiveCounts(base).persist(blocked));
        }
        assertArrayEquals(before, Files.readAllBytes(learnedFile));
        assertTrue(Files.list(dir).noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temp files left");
    }

    @Test
    void fullStripesDecayInsteadOfGrowing() {
        try (Datastore base = Datastore.open(file)) {
            AdaptiveCounts counts = new AdaptiveCounts(base, 1, 64);
            int[] seq = new int[3];
            for (int i = 0; i < 5000; i++) {
                seq[0] = i % 4000;
                seq[1] = 7;
                seq[2] = 9;
                counts.observe(seq, 2, 3);
            }
            int kept = 0;
            for (int a = 0; a < 4000; a++) {
                kept += counts.learnedCount(a, 7, 9) > 0 ? 1 : 0;
            }
            assertTrue(kept <= 64 + 64, "learned contexts kept: " + kept);
        }
    }
}
