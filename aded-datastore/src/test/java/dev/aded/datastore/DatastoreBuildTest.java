package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import it.unimi.dsi.fastutil.longs.Long2IntMap;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatastoreBuildTest {

    @Test
    void countsEqualAPlainCountOfEachDocument(@TempDir Path dir) throws Exception {
        Path corpus = Corpus.write(dir);
        Path file = dir.resolve("c.aded");
        DatastoreInfo info = Corpus.build(corpus, file, 512L << 20);
        try (Datastore ds = Datastore.open(file)) {
            int vocab = ds.vocabSize();
            Long2IntOpenHashMap expected = Corpus.trigrams(Corpus.documents(corpus), vocab);
            int[] tokens = new int[ds.maxEntries()];
            int[] counts = new int[ds.maxEntries()];
            long total = 0;
            for (Long2IntMap.Entry e : expected.long2IntEntrySet()) {
                long ctx = e.getLongKey() / vocab;
                int c = (int) (e.getLongKey() % vocab);
                int n = ds.trigram((int) (ctx / vocab), (int) (ctx % vocab), tokens, counts);
                int found = -1;
                for (int i = 0; i < n; i++) {
                    if (tokens[i] == c) {
                        found = counts[i];
                    }
                }
                assertEquals(e.getIntValue(), found, "count of a tri-gram");
                total += e.getIntValue();
            }
            // Every context has fewer than k continuations here, so nothing was pruned: the sums agree.
            assertEquals(total, sumAll(ds));
            assertEquals(info.trigramContexts(), ds.info().trigramContexts());
        }
    }

    private static long sumAll(Datastore ds) {
        int[] tokens = new int[ds.maxEntries()];
        int[] counts = new int[ds.maxEntries()];
        long sum = 0;
        for (int i = 0; i < ds.contexts(); i++) {
            int n = ds.contextEntries(i, tokens, counts);
            for (int j = 0; j < n; j++) {
                sum += counts[j];
            }
        }
        return sum;
    }

    @Test
    void excludedAndNonTextFilesAreLeftOut(@TempDir Path dir) throws Exception {
        Path corpus = Corpus.write(dir);
        DatastoreInfo all = DatastoreBuilder.create().tokenizer(Corpus.MODEL).input(corpus).threads(1)
                .build(dir.resolve("all.aded"));
        DatastoreInfo some = Corpus.build(corpus, dir.resolve("some.aded"), 512L << 20);
        assertTrue(all.tokensCounted() > some.tokensCounted(), "the excluded file was counted anyway");
    }

    @Test
    void spillingToSortedRunsGivesTheSameFile(@TempDir Path dir) throws Exception {
        Path corpus = Corpus.write(dir);
        Corpus.build(corpus, dir.resolve("memory.aded"), 512L << 20);
        Corpus.build(corpus, dir.resolve("spilled.aded"), 1); // tables spill every 1024 tri-grams
        assertArrayEquals(Files.readAllBytes(dir.resolve("memory.aded")), Files.readAllBytes(dir.resolve("spilled.aded")));
    }

    @Test
    void pruningKeepsTheMostFrequentContinuationsInOrder(@TempDir Path dir) throws Exception {
        Path doc = dir.resolve("t.txt");
        // After "x =" the continuations " 1" ×3, " 2" ×2, " 3" ×1: top-2 keeps 1 and 2, most frequent first.
        Files.writeString(doc, "x = 1\nx = 1\nx = 1\nx = 2\nx = 2\nx = 3\n");
        Path file = dir.resolve("t.aded");
        DatastoreBuilder.create().tokenizer(Corpus.MODEL).input(doc).topK(2).threads(1).build(file);
        try (Datastore ds = Datastore.open(file)) {
            int[] tokens = new int[2];
            int[] counts = new int[2];
            for (int i = 0; i < ds.contexts(); i++) {
                int n = ds.contextEntries(i, tokens, counts);
                assertTrue(n <= 2);
                if (n == 2) {
                    assertTrue(counts[0] >= counts[1], "entries sorted by count");
                }
            }
            assertEquals(2, ds.info().topK());
        }
        try (Datastore pruned = Datastore.open(file, 1)) {
            assertEquals(1, pruned.maxEntries());
        }
    }

    @Test
    void largeVocabulariesKeepThirtyTwoBitIds(@TempDir Path dir) throws Exception {
        int vocab = 128_256;
        Path file = dir.resolve("big.aded");
        try (DatastoreWriter w = new DatastoreWriter(file, vocab, 4, new byte[32])) {
            w.bigram(70_000, new int[] {128_000, 5}, new int[] {9, 3}, 2);
            w.trigram(100_000L * vocab + 128_255, new int[] {99_999, 65_536}, new int[] {7, 7}, 2);
            w.commit();
        }
        try (Datastore ds = Datastore.open(file)) {
            ds.verify();
            int[] t = new int[4];
            int[] c = new int[4];
            assertEquals(2, ds.trigram(100_000, 128_255, t, c));
            assertEquals(99_999, t[0]);
            assertEquals(65_536, t[1]);
            assertEquals(2, ds.bigram(70_000, t, c));
            assertEquals(128_000, t[0]);
            assertEquals(0, ds.trigram(1, 2, t, c));
        }
    }
}
