package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random and mutated files must never crash, hang or throw anything but a {@link DatastoreException}: the reader
 * bounds-checks every size and offset it reads from the file.
 */
class DatastoreFuzzTest {

    @Test
    void mutatedFilesFailCleanly(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.aded");
        Corpus.build(Corpus.write(dir.resolve("corpus")), good, 512L << 20);
        byte[] original = Files.readAllBytes(good);
        Random random = new Random(42);
        Path f = dir.resolve("fuzz.aded");
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < 400; round++) {
                byte[] b = mutate(original, random, round);
                Files.write(f, b);
                try (Datastore ds = Datastore.open(f)) {
                    probe(ds, random);
                    ds.verify();
                } catch (DatastoreException expected) {
                    // The documented outcome for a bad file.
                }
            }
        });
    }

    private static byte[] mutate(byte[] original, Random random, int round) {
        switch (round % 4) {
            case 0: { // random bytes, sometimes with a valid magic
                byte[] b = new byte[random.nextInt(4096)];
                random.nextBytes(b);
                if (b.length >= 8 && random.nextBoolean()) {
                    System.arraycopy(DatastoreFormat.MAGIC, 0, b, 0, 8);
                }
                return b;
            }
            case 1: { // flipped bytes anywhere
                byte[] b = original.clone();
                for (int i = 0; i < 1 + random.nextInt(8); i++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
                return b;
            }
            case 2: // truncated or extended
                return java.util.Arrays.copyOf(original, random.nextInt(original.length * 2));
            default: { // body corrupted, header intact: lookups must stay in bounds before verify() is called
                byte[] b = original.clone();
                for (int i = 0; i < 64; i++) {
                    int at = DatastoreFormat.HEADER_BYTES + random.nextInt(b.length - DatastoreFormat.HEADER_BYTES);
                    b[at] = (byte) random.nextInt(256);
                }
                return b;
            }
        }
    }

    private static void probe(Datastore ds, Random random) {
        int[] t = new int[ds.maxEntries()];
        int[] c = new int[ds.maxEntries()];
        for (int i = 0; i < 2000; i++) {
            ds.trigram(random.nextInt(ds.vocabSize()), random.nextInt(ds.vocabSize()), t, c);
            ds.bigram(random.nextInt(ds.vocabSize()), t, c);
        }
    }
}
