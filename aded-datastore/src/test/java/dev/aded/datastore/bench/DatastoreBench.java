package dev.aded.datastore.bench;

import dev.aded.datastore.ConsoleProgress;
import dev.aded.datastore.Datastore;
import dev.aded.datastore.DatastoreBuilder;
import dev.aded.datastore.DatastoreInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Builds a datastore from a corpus folder and prints build time, tokens/s, peak heap, file size against corpus
 * size, open time and the median top-k lookup latency.
 *
 * <pre>
 * java -Xmx2g -cp ... dev.aded.datastore.bench.DatastoreBench TOKENIZER_DIR CORPUS_DIR OUT_FILE THREADS [EXCLUDE...]
 * </pre>
 */
public final class DatastoreBench {
    private DatastoreBench() {}

    public static void main(String[] args) throws Exception {
        Path tokenizer = Path.of(args[0]);
        Path corpus = Path.of(args[1]);
        Path out = Path.of(args[2]);
        int threads = Integer.parseInt(args[3]);
        DatastoreBuilder b = DatastoreBuilder.create().tokenizer(tokenizer).input(corpus).threads(threads)
                .progress(new ConsoleProgress(System.err));
        for (int i = 4; i < args.length; i++) {
            b.exclude(args[i]);
        }
        long t0 = System.nanoTime();
        DatastoreInfo info = b.build(out);
        double buildSeconds = (System.nanoTime() - t0) / 1e9;
        long corpusBytes;
        try (Stream<Path> s = Files.walk(corpus)) {
            corpusBytes = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        System.out.printf(Locale.ROOT, "build: %.1f s, %,d tokens, %,.0f tokens/s, %d threads, peak heap %,d MB%n",
                buildSeconds, info.tokensCounted(), info.tokensCounted() / buildSeconds, threads, peakHeap() >> 20);
        System.out.printf(Locale.ROOT, "file: %,d bytes (%.1f MB) for %.1f MB in the corpus folder (%.2f×);"
                + " %,d contexts, %,d entries%n", info.fileBytes(), info.fileBytes() / 1e6, corpusBytes / 1e6,
                (double) info.fileBytes() / corpusBytes, info.trigramContexts(), info.trigramEntries());
        double[] openMs = new double[5];
        for (int i = 0; i < openMs.length; i++) {
            long o = System.nanoTime();
            try (Datastore ds = Datastore.open(out)) {
                openMs[i] = (System.nanoTime() - o) / 1e6;
            }
        }
        Arrays.sort(openMs);
        System.out.printf(Locale.ROOT, "open: median %.2f ms of %d%n", openMs[openMs.length / 2], openMs.length);
        try (Datastore ds = Datastore.open(out)) {
            System.out.printf(Locale.ROOT, "lookup: median %.0f ns (top-%d of a random seen context)%n",
                    lookupNanos(ds), ds.maxEntries());
        }
    }

    /** Median over batches of lookups of contexts that exist, timed in batches of 1000 to beat timer cost. */
    private static double lookupNanos(Datastore ds) {
        int vocab = ds.vocabSize();
        int[] t = new int[ds.maxEntries()];
        int[] c = new int[ds.maxEntries()];
        Random r = new Random(1);
        int[][] contexts = new int[100_000][];
        int found = 0;
        while (found < contexts.length) {
            int a = r.nextInt(vocab);
            int b = r.nextInt(vocab);
            if (ds.bigram(b, t, c) > 0) {
                int n = ds.bigram(a, t, c);
                if (n > 0 && ds.trigram(a, t[0], t, c) > 0) {
                    contexts[found++] = new int[] {a, ds.bigram(a, t, c) > 0 ? t[0] : b};
                }
            }
        }
        long sink = 0;
        double[] batches = new double[300];
        for (int round = -50; round < batches.length; round++) {
            long s = System.nanoTime();
            for (int i = 0; i < 1000; i++) {
                int[] ctx = contexts[(round * 1000 + i) & 0xFFFF];
                sink += ds.trigram(ctx[0], ctx[1], t, c);
            }
            if (round >= 0) {
                batches[round] = (System.nanoTime() - s) / 1000.0;
            }
        }
        if (sink == 42) {
            System.out.print("");
        }
        Arrays.sort(batches);
        return batches[batches.length / 2];
    }

    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
