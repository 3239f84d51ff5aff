package dev.aded.datastore;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonParser;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Builds a datastore from a corpus: files are tokenized on all threads with the model's tokenizer, each document
 * on its own (no tri-gram spans two documents), tri-grams and bigrams are counted in bounded tables that spill
 * sorted runs to disk when full, and the merged counts are pruned to the top k per context and written atomically.
 *
 * <pre>{@code
 * DatastoreInfo info = DatastoreBuilder.create().tokenizer(modelDir).input(Path.of("/usr/lib/python3.11"))
 *         .exclude("**}{@code /site-packages/**").threads(2).progress(new ConsoleProgress(System.err))
 *         .build(Path.of("python.aded"));
 * }</pre>
 */
public final class DatastoreBuilder {
    private Path tokenizer;
    private final List<Path> inputs = new ArrayList<>();
    private final List<String> excludes = new ArrayList<>();
    private int topK = 12;
    private int minCount = 1;
    private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private long memoryBudgetBytes = 512L << 20;
    private BuildProgress progress;

    private DatastoreBuilder() {}

    public static DatastoreBuilder create() {
        return new DatastoreBuilder();
    }

    /** A model folder or its {@code tokenizer.json}. */
    public DatastoreBuilder tokenizer(Path dirOrJson) {
        this.tokenizer = dirOrJson;
        return this;
    }

    public DatastoreBuilder input(Path... paths) {
        inputs.addAll(Arrays.asList(paths));
        return this;
    }

    public DatastoreBuilder inputs(List<Path> paths) {
        inputs.addAll(paths);
        return this;
    }

    /** Leaves out paths matching a glob such as {@code **}{@code /networkx/**}. */
    public DatastoreBuilder exclude(String glob) {
        excludes.add(glob);
        return this;
    }

    public DatastoreBuilder topK(int k) {
        this.topK = k;
        return this;
    }

    /** Drops continuations seen fewer times: a smaller file that forgets rarities. */
    public DatastoreBuilder minCount(int n) {
        this.minCount = n;
        return this;
    }

    public DatastoreBuilder threads(int n) {
        this.threads = n;
        return this;
    }

    /** Memory the counting tables may use before spilling sorted runs to disk (default 512 MiB). */
    public DatastoreBuilder memoryBudgetBytes(long bytes) {
        this.memoryBudgetBytes = bytes;
        return this;
    }

    public DatastoreBuilder progress(BuildProgress listener) {
        this.progress = listener;
        return this;
    }

    /**
     * Builds the datastore into {@code output}, replacing it atomically.
     *
     * @throws IllegalArgumentException for bad settings, a missing input or tokenizer
     */
    public DatastoreInfo build(Path output) throws IOException {
        if (tokenizer == null) {
            throw new IllegalArgumentException("no tokenizer given");
        }
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("no input given");
        }
        if (topK < 1 || threads < 1 || minCount < 1 || memoryBudgetBytes < 1) {
            throw new IllegalArgumentException("top-k, threads, min count and memory budget must be positive");
        }
        Path tokenizerJson = Files.isDirectory(tokenizer) ? tokenizer.resolve("tokenizer.json") : tokenizer;
        byte[] fingerprint = TokenizerFingerprint.of(tokenizerJson);
        List<Path> files = CorpusFiles.select(inputs, excludes);
        long bytesTotal = 0;
        for (Path f : files) {
            bytesTotal += Files.size(f);
        }
        long start = System.nanoTime();
        Path workDir = output.toAbsolutePath().getParent();
        Files.createDirectories(workDir);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(false).optTruncation(false).optPadding(false)
                .optMaxLength(Integer.MAX_VALUE).build();
                SortedRuns trigramRuns = new SortedRuns(workDir)) {
            int vocab = vocabSize(tokenizerJson);
            Counting counting = new Counting(tok, vocab, trigramRuns,
                    Math.max(1024, memoryBudgetBytes / threads / 32));
            long total = bytesTotal;
            counting.run(files, threads, () -> report(counting, files.size(), total, start));
            report(counting, files.size(), total, start);
            try (DatastoreWriter writer = new DatastoreWriter(output, vocab, topK, fingerprint)) {
                writer.tokensCounted(counting.tokens.get());
                writeBigrams(counting.bigrams, vocab, writer);
                ContextPruner tri = new ContextPruner(topK, minCount, writer::trigram);
                trigramRuns.merge((key, count) -> tri.add(key / vocab, (int) (key % vocab), count));
                tri.flush();
                DatastoreInfo info = writer.commit();
                if (progress != null) {
                    progress.finished(info, System.nanoTime() - start);
                }
                return info;
            }
        }
    }

    private void report(Counting c, long filesTotal, long bytesTotal, long start) {
        if (progress != null) {
            progress.update(c.files.get(), filesTotal, c.bytes.get(), bytesTotal, c.tokens.get(),
                    System.nanoTime() - start);
        }
    }

    private void writeBigrams(Long2IntOpenHashMap bigrams, int vocab, DatastoreWriter writer) throws IOException {
        long[] keys = bigrams.keySet().toLongArray();
        Arrays.sort(keys);
        ContextPruner pruner = new ContextPruner(topK, minCount,
                (b, tokens, counts, n) -> writer.bigram((int) b, tokens, counts, n));
        for (long k : keys) {
            pruner.add(k / vocab, (int) (k % vocab), bigrams.get(k));
        }
        pruner.flush();
    }

    /** One past the highest id of the tokenizer's vocabulary and added tokens. */
    static int vocabSize(Path tokenizerJson) {
        try (BufferedReader r = Files.newBufferedReader(tokenizerJson, StandardCharsets.UTF_8)) {
            var root = JsonParser.parseReader(r).getAsJsonObject();
            int max = -1;
            var vocab = root.getAsJsonObject("model").get("vocab");
            if (vocab.isJsonObject()) {
                for (var e : vocab.getAsJsonObject().entrySet()) {
                    max = Math.max(max, e.getValue().getAsInt());
                }
            } else {
                max = vocab.getAsJsonArray().size() - 1;
            }
            if (root.has("added_tokens")) {
                for (var t : root.getAsJsonArray("added_tokens")) {
                    max = Math.max(max, t.getAsJsonObject().get("id").getAsInt());
                }
            }
            return max + 1;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tokenizerJson, e);
        }
    }

    /** The multi-threaded counting pass over all files. */
    private static final class Counting {
        final HuggingFaceTokenizer tokenizer;
        final int vocab;
        final SortedRuns runs;
        final long tableLimit;
        final Long2IntOpenHashMap bigrams = new Long2IntOpenHashMap();
        final AtomicLong files = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();

        Counting(HuggingFaceTokenizer tokenizer, int vocab, SortedRuns runs, long tableLimit) {
            this.tokenizer = tokenizer;
            this.vocab = vocab;
            this.runs = runs;
            this.tableLimit = tableLimit;
        }

        void run(List<Path> paths, int threads, Runnable tick) throws IOException {
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<Long2IntOpenHashMap>> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    workers.add(pool.submit(() -> work(paths, next)));
                }
                for (Future<Long2IntOpenHashMap> w : workers) {
                    while (true) {
                        try {
                            SortedRuns.addAll(bigrams, w.get(200, java.util.concurrent.TimeUnit.MILLISECONDS));
                            break;
                        } catch (java.util.concurrent.TimeoutException e) {
                            tick.run();
                        }
                    }
                }
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof IOException io) {
                    throw io;
                }
                throw new IllegalStateException("datastore build failed: " + cause.getMessage(), cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("datastore build interrupted", e);
            } finally {
                pool.shutdownNow();
            }
        }

        /** Counts files until none are left; returns this worker's bigram table. */
        private Long2IntOpenHashMap work(List<Path> paths, AtomicInteger next) throws IOException {
            Long2IntOpenHashMap tri = new Long2IntOpenHashMap();
            Long2IntOpenHashMap bi = new Long2IntOpenHashMap();
            int i;
            while ((i = next.getAndIncrement()) < paths.size()) {
                Path file = paths.get(i);
                for (String doc : documents(file)) {
                    count(doc, tri, bi);
                    if (tri.size() > tableLimit) {
                        runs.spill(tri);
                    }
                }
                files.incrementAndGet();
                bytes.addAndGet(Files.size(file));
            }
            runs.spill(tri);
            return bi;
        }

        private void count(String doc, Long2IntOpenHashMap tri, Long2IntOpenHashMap bi) {
            if (doc.isEmpty()) {
                return;
            }
            long[] ids = tokenizer.encode(doc, false, false).getIds();
            for (int j = 1; j < ids.length; j++) {
                bi.addTo(ids[j - 1] * vocab + ids[j], 1);
                if (j >= 2) {
                    tri.addTo((ids[j - 2] * vocab + ids[j - 1]) * vocab + ids[j], 1);
                }
            }
            tokens.addAndGet(ids.length);
        }

        /** A {@code .jsonl} file is one document per line (its {@code text} field); any other file is one. */
        private static List<String> documents(Path file) throws IOException {
            byte[] raw = Files.readAllBytes(file);
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(java.nio.ByteBuffer.wrap(raw))
                    .toString();
            if (!file.getFileName().toString().endsWith(".jsonl")) {
                return List.of(text);
            }
            List<String> docs = new ArrayList<>();
            int lineNo = 0;
            for (String line : text.split("\n")) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    docs.add(JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(file + " line " + lineNo + ": not a JSON object with a"
                            + " string field 'text'", e);
                }
            }
            return docs;
        }
    }
}
