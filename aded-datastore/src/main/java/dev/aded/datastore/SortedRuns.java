package dev.aded.datastore;

import it.unimi.dsi.fastutil.longs.Long2IntMap;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Counts that do not fit in memory: each full in-memory table is written out as a run of (key, count) sorted by
 * key, and the runs are merged at the end in one streaming pass, summing equal keys. Memory stays bounded by the
 * table size whatever the corpus size.
 */
final class SortedRuns implements AutoCloseable {
    /** Receives merged (key, count) pairs in ascending key order. */
    interface Sink {
        void accept(long key, long count) throws IOException;
    }

    private final Path dir;
    private final List<Path> runs = new ArrayList<>();

    SortedRuns(Path dir) {
        this.dir = dir;
        TempFiles.deleteLeftovers(dir);
    }

    /** Writes the table as one sorted run and empties it. */
    synchronized void spill(Long2IntOpenHashMap table) throws IOException {
        if (table.isEmpty()) {
            return;
        }
        long[] keys = table.keySet().toLongArray();
        Arrays.sort(keys);
        Path run = TempFiles.create(dir, "run");
        try (DataOutputStream out = new DataOutputStream(
                new BufferedOutputStream(Files.newOutputStream(run), 1 << 16))) {
            for (long k : keys) {
                out.writeLong(k);
                out.writeInt(table.get(k));
            }
        }
        runs.add(run);
        table.clear();
        table.trim();
    }

    /** Streams the sum of all runs, in key order. */
    void merge(Sink sink) throws IOException {
        PriorityQueue<Reader> heap = new PriorityQueue<>((x, y) -> Long.compare(x.key, y.key));
        List<Reader> readers = new ArrayList<>();
        try {
            for (Path run : runs) {
                Reader r = new Reader(run);
                readers.add(r);
                if (r.next()) {
                    heap.add(r);
                }
            }
            while (!heap.isEmpty()) {
                long key = heap.peek().key;
                long count = 0;
                while (!heap.isEmpty() && heap.peek().key == key) {
                    Reader r = heap.poll();
                    count += r.count;
                    if (r.next()) {
                        heap.add(r);
                    }
                }
                sink.accept(key, count);
            }
        } finally {
            for (Reader r : readers) {
                r.in.close();
            }
        }
    }

    /** Adds a whole table's counts to another: for the small bigram tables of the workers. */
    static void addAll(Long2IntOpenHashMap into, Long2IntOpenHashMap from) {
        for (Long2IntMap.Entry e : from.long2IntEntrySet()) {
            into.addTo(e.getLongKey(), e.getIntValue());
        }
    }

    private static final class Reader {
        final DataInputStream in;
        long key;
        int count;

        Reader(Path run) throws IOException {
            in = new DataInputStream(new BufferedInputStream(Files.newInputStream(run), 1 << 16));
        }

        boolean next() throws IOException {
            try {
                key = in.readLong();
                count = in.readInt();
                return true;
            } catch (EOFException e) {
                return false;
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (Path run : runs) {
            Files.deleteIfExists(run);
        }
    }
}
