package dev.aded.datastore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Every way a datastore file can be wrong gives an error naming the file and the problem. */
class DatastoreErrorsTest {
    @TempDir
    Path dir;
    private Path good;
    private byte[] bytes;

    @BeforeEach
    void build() throws Exception {
        good = dir.resolve("good.aded");
        Corpus.build(Corpus.write(dir.resolve("corpus")), good, 512L << 20);
        bytes = Files.readAllBytes(good);
    }

    private String openError(byte[] content) throws Exception {
        Path f = dir.resolve("bad.aded");
        Files.write(f, content);
        DatastoreException e = assertThrows(DatastoreException.class, () -> Datastore.open(f).verify());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aFileCutShortWhileOpenIsNamedByVerifyAndPersistLosesNothing() throws Exception {
        Path shared = dir.resolve("shared.aded");
        Path learned = dir.resolve("learned.aded");
        Files.copy(good, shared);
        Files.copy(good, learned);
        Datastore ds = Datastore.open(shared);
        ds.verify();
        try (FileChannel ch = FileChannel.open(shared, StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        for (Executable use : new Executable[] {ds::verify, () -> new AdaptiveCounts(ds).persist(learned)}) {
            DatastoreException e = assertThrows(DatastoreException.class, use);
            assertTrue(e.getMessage().contains(shared.toString()) && e.getMessage().contains("cut short since it"
                    + " was opened (100 of " + bytes.length + " bytes)"), e.getMessage());
        }
        try (Datastore kept = Datastore.open(learned)) {
            kept.verify(); // the persist that was refused left its target as it was
        }
    }

    @Test
    void aFileRenamedOverAnOpenOneLeavesTheOpenOneWhole() throws Exception {
        Path shared = dir.resolve("shared.aded");
        Files.copy(good, shared);
        Datastore ds = Datastore.open(shared);
        Path other = dir.resolve("other.aded");
        Files.write(other, Arrays.copyOf(bytes, 100));
        Files.move(other, shared, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ds.verify(); // the mapping still holds the file it was opened on
    }

    @Test
    void notADatastore() throws Exception {
        assertTrue(openError("def f(): pass\n".repeat(20).getBytes()).contains("not a datastore"));
    }

    @Test
    void truncated() throws Exception {
        assertTrue(openError(Arrays.copyOf(bytes, bytes.length - 100)).contains("truncated"));
        assertTrue(openError(Arrays.copyOf(bytes, 40)).contains("truncated"));
    }

    @Test
    void aFlippedByteInTheBodyFailsTheChecksum() throws Exception {
        byte[] b = bytes.clone();
        b[b.length - 3] ^= 0x10;
        assertTrue(openError(b).contains("checksum"));
    }

    @Test
    void backgroundVerificationOfADamagedBodyTurnsLookupsOffAndAWholeOneKeepsThem() throws Exception {
        Path f = dir.resolve("flipped.aded");
        byte[] b = bytes.clone();
        b[b.length - 3] ^= 0x10;
        Files.write(f, b);
        int[] tokens = new int[64];
        int[] counts = new int[64];
        try (Datastore whole = Datastore.open(good); Datastore damaged = Datastore.open(f)) {
            int busiest = firstBigram(whole, tokens, counts);
            assertTrue(damaged.bigram(busiest, tokens, counts) > 0, "lookups work before the verdict");
            whole.verifyInBackground().get(1, java.util.concurrent.TimeUnit.MINUTES);
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> damaged.verifyInBackground().get(1, java.util.concurrent.TimeUnit.MINUTES));
            assertTrue(e.getCause().getMessage().contains("checksum") && e.getCause().getMessage()
                    .contains(f.toString()), e.getCause().getMessage());
            assertTrue(damaged.distrusted() && !whole.distrusted());
            assertEquals(0, damaged.bigram(busiest, tokens, counts));
            assertTrue(whole.bigram(busiest, tokens, counts) > 0);
        }
    }

    private static int firstBigram(Datastore ds, int[] tokens, int[] counts) {
        for (int t = 0; t < ds.vocabSize(); t++) {
            if (ds.bigram(t, tokens, counts) > 0) {
                return t;
            }
        }
        throw new AssertionError("the test corpus gave no bigram");
    }

    @Test
    void aFlippedByteInTheHeaderFailsAtOpen() throws Exception {
        byte[] b = bytes.clone();
        b[30] ^= 0x01;
        assertTrue(openError(b).contains("header"));
    }

    @Test
    void aFutureFormatVersionIsRefusedClearly() throws Exception {
        ByteBuffer h = ByteBuffer.wrap(bytes.clone()).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(8, 99);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, DatastoreFormat.HEADER_CRC_AT);
        h.putInt(DatastoreFormat.HEADER_CRC_AT, (int) crc.getValue());
        String msg = openError(h.array());
        assertTrue(msg.contains("format version 99 is newer"), msg);
    }

    @Test
    void anotherTokenizerOrVocabularyIsRefused() throws Exception {
        String json = Files.readString(Corpus.TOKENIZER);
        Path other = dir.resolve("other-tokenizer.json");
        // Same size, one token spelled differently: ids would mean other text.
        Files.writeString(other, json.replaceFirst("\"def\"", "\"fed\""));
        try (Datastore ds = Datastore.open(good)) {
            ds.requireTokenizer(Corpus.TOKENIZER, 8192);
            String msg = assertThrows(IllegalArgumentException.class, () -> ds.requireTokenizer(other, 8192))
                    .getMessage();
            assertTrue(msg.contains("another tokenizer") && msg.contains(good.toString()), msg);
            msg = assertThrows(IllegalArgumentException.class, () -> ds.requireTokenizer(Corpus.TOKENIZER, 32000))
                    .getMessage();
            assertTrue(msg.contains("vocabulary of 8192"), msg);
        }
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("nope.aded");
        assertTrue(assertThrows(DatastoreException.class, () -> Datastore.open(missing)).getMessage()
                .contains("does not exist"));
    }
}
