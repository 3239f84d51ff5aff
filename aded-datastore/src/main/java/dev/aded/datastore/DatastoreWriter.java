package dev.aded.datastore;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes a datastore file from contexts given in ascending order, atomically: everything goes to a temporary file
 * beside the target, which is flushed to disk and then renamed over the target, so a crash at any moment leaves
 * either the old file or the new one, never half of one. The temporary files a crash leaves are deleted by the next
 * writer in that folder ({@link TempFiles}).
 */
final class DatastoreWriter implements AutoCloseable {
    private final Path target;
    private final int vocab;
    private final int topK;
    private final byte[] fingerprint;
    private final int[] bigramOffsets;
    private final IntArrayList bigramEntries = new IntArrayList();
    private int nextBigram;
    private final Path keysFile;
    private final Path offsetsFile;
    private final Path entriesFile;
    private final DataOutputStream keys;
    private final DataOutputStream offsets;
    private final DataOutputStream entries;
    private long contexts;
    private long trigramEntries;
    private long lastKey = -1;
    private long tokensCounted;

    DatastoreWriter(Path target, int vocab, int topK, byte[] fingerprint) throws IOException {
        this.target = target.toAbsolutePath();
        this.vocab = vocab;
        this.topK = topK;
        this.fingerprint = fingerprint.clone();
        this.bigramOffsets = new int[vocab + 1];
        Path dir = this.target.getParent();
        TempFiles.deleteLeftovers(dir);
        this.keysFile = TempFiles.create(dir, "keys");
        this.offsetsFile = TempFiles.create(dir, "offsets");
        this.entriesFile = TempFiles.create(dir, "entries");
        this.keys = open(keysFile);
        this.offsets = open(offsetsFile);
        this.entries = open(entriesFile);
        offsets.writeInt(0);
    }

    private static DataOutputStream open(Path p) throws IOException {
        return new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(p), 1 << 16));
    }

    void tokensCounted(long n) {
        tokensCounted = n;
    }

    /** The continuations of token b; calls come in ascending b. */
    void bigram(int b, int[] tokens, int[] counts, int n) {
        if (b < nextBigram) {
            throw new IllegalStateException("bigram contexts out of order: " + b);
        }
        while (nextBigram <= b) {
            bigramOffsets[nextBigram++] = bigramEntries.size() / 2;
        }
        for (int i = 0; i < n; i++) {
            bigramEntries.add(tokens[i]);
            bigramEntries.add(counts[i]);
        }
    }

    /** The continuations of context (a, b) as key a·vocab + b; calls come in ascending key. */
    void trigram(long key, int[] tokens, int[] counts, int n) throws IOException {
        if (key <= lastKey) {
            throw new IllegalStateException("trigram contexts out of order: " + key);
        }
        if (n == 0) {
            return;
        }
        lastKey = key;
        keys.writeLong(Long.reverseBytes(key));
        for (int i = 0; i < n; i++) {
            entries.writeInt(Integer.reverseBytes(tokens[i]));
            entries.writeInt(Integer.reverseBytes(counts[i]));
        }
        trigramEntries += n;
        contexts++;
        if (trigramEntries > 0xFFFF_FFFFL) {
            throw new IllegalStateException("more than 2^32 trigram entries: not representable in format v1");
        }
        offsets.writeInt(Integer.reverseBytes((int) trigramEntries));
    }

    /** Assembles the file and puts it in place of the target. */
    DatastoreInfo commit() throws IOException {
        while (nextBigram <= vocab) {
            bigramOffsets[nextBigram++] = bigramEntries.size() / 2;
        }
        keys.close();
        offsets.close();
        entries.close();
        Path tmp = TempFiles.create(target.getParent(), "file");
        try {
            CRC32C crc = new CRC32C();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.position(DatastoreFormat.HEADER_BYTES);
                OutputStream out = new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16);
                ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                for (int off : bigramOffsets) {
                    writeCrc(out, crc, buf.clear().putInt(off).array(), 4);
                }
                for (int i = 0; i < bigramEntries.size(); i++) {
                    writeCrc(out, crc, buf.clear().putInt(bigramEntries.getInt(i)).array(), 4);
                }
                copy(keysFile, out, crc);
                copy(offsetsFile, out, crc);
                copy(entriesFile, out, crc);
                out.flush();
                ByteBuffer header = header((int) crc.getValue());
                ch.write(header, 0);
                ch.force(true);
            }
            readableByAll(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
            close();
        }
        return new DatastoreInfo(DatastoreFormat.VERSION, vocab, topK, tokensCounted, contexts, trigramEntries,
                countBigramContexts(), bigramEntries.size() / 2, Files.size(target),
                TokenizerFingerprint.hex(fingerprint));
    }

    /** Temporary files are private to their creator; the datastore itself is an ordinary data file. */
    private static void readableByAll(Path p) throws IOException {
        try {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: its default permissions apply.
        }
    }

    private long countBigramContexts() {
        long n = 0;
        for (int b = 0; b < vocab; b++) {
            if (bigramOffsets[b + 1] > bigramOffsets[b]) {
                n++;
            }
        }
        return n;
    }

    private ByteBuffer header(int bodyCrc) {
        ByteBuffer h = ByteBuffer.allocate(DatastoreFormat.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.put(DatastoreFormat.MAGIC).putInt(DatastoreFormat.VERSION).putInt(vocab).putInt(topK).putInt(0)
                .putLong(tokensCounted).putLong(contexts).putLong(trigramEntries)
                .putLong(bigramEntries.size() / 2).put(fingerprint).putInt(bodyCrc);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, DatastoreFormat.HEADER_CRC_AT);
        h.putInt((int) crc.getValue());
        return h.flip();
    }

    private static void writeCrc(OutputStream out, CRC32C crc, byte[] bytes, int n) throws IOException {
        out.write(bytes, 0, n);
        crc.update(bytes, 0, n);
    }

    private static void copy(Path from, OutputStream out, CRC32C crc) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = new BufferedInputStream(Files.newInputStream(from))) {
            int n;
            while ((n = in.read(buf)) > 0) {
                writeCrc(out, crc, buf, n);
            }
        }
    }

    int topK() {
        return topK;
    }

    @Override
    public void close() {
        try {
            keys.close();
            offsets.close();
            entries.close();
            Files.deleteIfExists(keysFile);
            Files.deleteIfExists(offsetsFile);
            Files.deleteIfExists(entriesFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
