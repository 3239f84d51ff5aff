package dev.aded.datastore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.slf4j.LoggerFactory;

/**
 * A tri-gram datastore file, memory-mapped. Opening reads and checks the header and the sections' sizes and
 * offsets, which takes milliseconds whatever the size; {@link #verify()} reads the whole body against its
 * checksum. Lookups binary-search the sorted context keys of their first token and copy at most k entries,
 * allocating nothing.
 * Safe for any number of concurrent readers.
 */
public final class Datastore implements NgramCounts, AutoCloseable {
    private final Path file;
    private final int vocab;
    private final int fileTopK;
    private final int topK;
    private final long tokensCounted;
    private final int contexts;
    private final long trigramEntries;
    private final long bigramEntries;
    private final byte[] fingerprint;
    private final int bodyCrc;
    private final long fileBytes;
    /** The mapped file's identity (device and inode on Linux), to tell it apart from one renamed over its path. */
    private final Object fileKey;
    private final ByteBuffer bigramOffsets;
    private final ByteBuffer bigrams;
    private final ByteBuffer keys;
    private final ByteBuffer offsets;
    private final ByteBuffer trigrams;
    private final ByteBuffer body;
    /** {@link #firstContext}'s answers by first token, -1 where not asked yet. */
    private final int[] firstContext;
    /** Set when {@link #verifyInBackground()} found the body damaged: lookups then answer nothing. */
    private volatile boolean distrusted;

    private Datastore(Path file, ByteBuffer map, Object fileKey, int loadTopK) {
        this.file = file;
        this.fileBytes = map.capacity();
        this.fileKey = fileKey;
        if (fileBytes < DatastoreFormat.HEADER_BYTES) {
            throw new DatastoreException(file, "truncated: " + fileBytes + " bytes, shorter than the header");
        }
        byte[] magic = new byte[8];
        map.get(0, magic);
        if (!Arrays.equals(magic, DatastoreFormat.MAGIC)) {
            throw new DatastoreException(file, "not a datastore file (wrong magic number)");
        }
        CRC32C crc = new CRC32C();
        crc.update(map.slice(0, DatastoreFormat.HEADER_CRC_AT));
        if ((int) crc.getValue() != map.getInt(DatastoreFormat.HEADER_CRC_AT)) {
            throw new DatastoreException(file, "corrupted header (checksum mismatch)");
        }
        int version = map.getInt(8);
        if (version > DatastoreFormat.VERSION) {
            throw new DatastoreException(file, "format version " + version + " is newer than this library reads ("
                    + DatastoreFormat.VERSION + "): upgrade the library or rebuild the datastore");
        }
        if (version < 1) {
            throw new DatastoreException(file, "invalid format version " + version);
        }
        this.vocab = map.getInt(12);
        this.fileTopK = map.getInt(16);
        this.tokensCounted = map.getLong(24);
        long ctx = map.getLong(32);
        this.trigramEntries = map.getLong(40);
        this.bigramEntries = map.getLong(48);
        this.fingerprint = new byte[32];
        map.get(DatastoreFormat.FINGERPRINT_AT, fingerprint);
        this.bodyCrc = map.getInt(DatastoreFormat.BODY_CRC_AT);
        if (vocab <= 0 || fileTopK <= 0 || ctx < 0 || ctx > Integer.MAX_VALUE || trigramEntries < 0
                || bigramEntries < 0) {
            throw new DatastoreException(file, "corrupted header (impossible sizes)");
        }
        this.contexts = (int) ctx;
        this.topK = loadTopK > 0 ? Math.min(loadTopK, fileTopK) : fileTopK;
        long pos = DatastoreFormat.HEADER_BYTES;
        long[] bounds = new long[6];
        bounds[0] = pos;
        bounds[1] = bounds[0] + 4L * (vocab + 1);
        bounds[2] = bounds[1] + 8L * bigramEntries;
        bounds[3] = bounds[2] + 8L * contexts;
        bounds[4] = bounds[3] + 4L * (contexts + 1);
        bounds[5] = bounds[4] + 8L * trigramEntries;
        if (bounds[5] != fileBytes) {
            throw new DatastoreException(file, bounds[5] > fileBytes ? "truncated: " + fileBytes
                    + " bytes, the header describes " + bounds[5] : "has " + (fileBytes - bounds[5])
                    + " unexpected trailing bytes");
        }
        this.body = slice(map, bounds[0], bounds[5]);
        this.bigramOffsets = slice(map, bounds[0], bounds[1]);
        this.bigrams = slice(map, bounds[1], bounds[2]);
        this.keys = slice(map, bounds[2], bounds[3]);
        this.offsets = slice(map, bounds[3], bounds[4]);
        this.trigrams = slice(map, bounds[4], bounds[5]);
        this.firstContext = new int[vocab + 1];
        Arrays.fill(firstContext, -1);
        if (bigramOffsets.getInt(4 * vocab) != bigramEntries || offsets.getInt(4 * contexts) != (int) trigramEntries) {
            throw new DatastoreException(file, "corrupted: section offsets do not match the header");
        }
    }

    private static ByteBuffer slice(ByteBuffer map, long from, long to) {
        return map.slice((int) from, (int) (to - from)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Opens a datastore file.
     *
     * @throws DatastoreException naming the file when it is missing, not a datastore, truncated, corrupted in its
     *     header or structure, or of a newer format version
     */
    public static Datastore open(Path file) {
        return open(file, 0);
    }

    /** Opens a datastore and keeps at most {@code loadTopK} continuations per context (0 keeps the file's k). */
    public static Datastore open(Path file, int loadTopK) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new DatastoreException(file, "larger than 2 GiB, which format version 1 does not map");
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            map.order(ByteOrder.LITTLE_ENDIAN);
            Object fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            return new Datastore(file, map, fileKey, loadTopK);
        } catch (NoSuchFileException e) {
            throw new DatastoreException(file, "does not exist", e);
        } catch (IOException e) {
            throw new DatastoreException(file, "cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the whole body against its checksum and checks every offset and token id.
     *
     * @throws DatastoreException naming the first problem found, or that the file was cut short since it was opened
     */
    public void verify() {
        requireWhole();
        if (bodyChecksum() != bodyCrc) {
            throw new DatastoreException(file, "corrupted (body checksum mismatch)");
        }
        long prev = -1;
        for (int i = 0; i < contexts; i++) {
            long key = keys.getLong(8 * i);
            if (key <= prev || key >= (long) vocab * vocab) {
                throw new DatastoreException(file, "corrupted: context keys out of order or range at " + i);
            }
            prev = key;
        }
    }

    /**
     * Runs {@link #verify()} on a daemon thread, so that opening stays fast however large the file. Should the body
     * be damaged, one warning is logged and every lookup answers nothing from then on: drafts then come only from
     * what is learned and from the context, and since the model checks every draft the output is the same, only
     * slower. The future completes with the verdict: normally, or with the {@link DatastoreException}.
     */
    public CompletableFuture<Void> verifyInBackground() {
        CompletableFuture<Void> verdict = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                verify();
                verdict.complete(null);
            } catch (DatastoreException | InternalError e) {
                distrusted = true;
                LoggerFactory.getLogger(Datastore.class).warn("{}; drafting goes on without it", e.getMessage());
                verdict.completeExceptionally(e);
            }
        }, "aded-verify-" + file.getFileName());
        t.setDaemon(true);
        t.start();
        return verdict;
    }

    /** True once a background verification found the body damaged (lookups then answer nothing). */
    public boolean distrusted() {
        return distrusted;
    }

    /**
     * The body's CRC32C over copies of the mapping. Should the file be cut short meanwhile, the JVM turns a copy's
     * fault into an {@link InternalError}, where CRC32C's intrinsic reading the mapping itself would crash it.
     */
    private int bodyChecksum() {
        CRC32C crc = new CRC32C();
        byte[] chunk = new byte[1 << 20];
        for (int pos = 0; pos < body.capacity(); pos += chunk.length) {
            int n = Math.min(chunk.length, body.capacity() - pos);
            body.get(pos, chunk, 0, n);
            crc.update(chunk, 0, n);
        }
        return (int) crc.getValue();
    }

    /**
     * Fails when the mapped file was cut short since it was opened: its lost pages would fault when read. A file
     * renamed over the path (as persist does) leaves the mapped one whole, and so does deleting it.
     *
     * @throws DatastoreException naming the file and both sizes
     */
    void requireWhole() {
        try {
            BasicFileAttributes now = Files.readAttributes(file, BasicFileAttributes.class);
            if (fileKey != null && fileKey.equals(now.fileKey()) && now.size() < fileBytes) {
                throw new DatastoreException(file, "cut short since it was opened (" + now.size() + " of " + fileBytes
                        + " bytes): reading it further would fail; open it again once it is whole");
            }
        } catch (IOException e) {
            // Gone or unreadable by path: the mapping still holds the file it was opened on.
        }
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int maxEntries() {
        return topK;
    }

    /** Continuations of (a, b); out-of-range ids, and offsets a corrupted file might hold, give no entries. */
    @Override
    public int trigram(int a, int b, int[] tokens, int[] counts) {
        if (distrusted || a < 0 || b < 0 || a >= vocab || b >= vocab) {
            return 0;
        }
        long key = (long) a * vocab + b;
        int lo = firstContext(a);
        int hi = firstContext(a + 1) - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long k = keys.getLong(8 * mid);
            if (k < key) {
                lo = mid + 1;
            } else if (k > key) {
                hi = mid - 1;
            } else {
                return copy(trigrams, offsets.getInt(4 * mid), offsets.getInt(4 * mid + 4), tokens, counts);
            }
        }
        return 0;
    }

    /**
     * The index of the first context whose first token is at least {@code a} (a ≤ vocab), found once and kept: a
     * lookup then searches only the contexts of its first token, a few hundred keys on one or two pages, instead of
     * all of them (21 probes into 11 MB of keys for the Python sources, the last ten of them cache misses).
     * Unsynchronised: racing threads compute and store the same value.
     */
    private int firstContext(int a) {
        int known = firstContext[a];
        if (known >= 0) {
            return known;
        }
        long key = (long) a * vocab;
        int lo = 0;
        int hi = contexts;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (keys.getLong(8 * mid) < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        firstContext[a] = lo;
        return lo;
    }

    @Override
    public int bigram(int b, int[] tokens, int[] counts) {
        if (distrusted || b < 0 || b >= vocab) {
            return 0;
        }
        return copy(bigrams, bigramOffsets.getInt(4 * b), bigramOffsets.getInt(4 * b + 4), tokens, counts);
    }

    private int copy(ByteBuffer entries, int from, int to, int[] tokens, int[] counts) {
        long limit = entries.capacity() / 8;
        if (from < 0 || to < from || to > limit) {
            return 0;
        }
        int n = Math.min(to - from, topK);
        for (int i = 0; i < n; i++) {
            int at = 8 * (from + i);
            tokens[i] = entries.getInt(at);
            counts[i] = entries.getInt(at + 4);
        }
        return n;
    }

    /** Iterates trigram contexts in key order: for persisting merged counts. */
    int contexts() {
        return contexts;
    }

    long contextKey(int i) {
        return keys.getLong(8 * i);
    }

    int contextEntries(int i, int[] tokens, int[] counts) {
        return copy(trigrams, offsets.getInt(4 * i), offsets.getInt(4 * i + 4), tokens, counts);
    }

    @Override
    public void requireTokenizer(Path tokenizerJson, int vocabSize) {
        if (vocabSize != vocab) {
            throw new DatastoreException(file, "was built for a vocabulary of " + vocab + " tokens, the model's"
                    + " tokenizer has " + vocabSize + ": rebuild it with this model's tokenizer");
        }
        byte[] expected = TokenizerFingerprint.of(tokenizerJson);
        if (!Arrays.equals(expected, fingerprint)) {
            throw new DatastoreException(file, "was built with another tokenizer (fingerprint "
                    + TokenizerFingerprint.hex(fingerprint).substring(0, 12) + "…, the model's "
                    + TokenizerFingerprint.hex(expected).substring(0, 12) + "…): rebuild it with " + tokenizerJson);
        }
    }

    public DatastoreInfo info() {
        long bigramContexts = 0;
        for (int b = 0; b < vocab; b++) {
            if (bigramOffsets.getInt(4 * b + 4) > bigramOffsets.getInt(4 * b)) {
                bigramContexts++;
            }
        }
        return new DatastoreInfo(DatastoreFormat.VERSION, vocab, fileTopK, tokensCounted, contexts, trigramEntries,
                bigramContexts, bigramEntries, fileBytes, TokenizerFingerprint.hex(fingerprint));
    }

    byte[] fingerprint() {
        return fingerprint.clone();
    }

    long tokensCounted() {
        return tokensCounted;
    }

    int topK() {
        return topK;
    }

    public Path file() {
        return file;
    }

    /** The mapping is released by the garbage collector; closing only marks the end of use. */
    @Override
    public void close() {}
}
