package dev.aded.mcts;

import dev.aded.core.text.Tokenizer;
import it.unimi.dsi.fastutil.longs.Long2IntMap;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Counts the tri-grams and bigrams of a corpus of source files into {@link MapCounts}, for the benchmark while the
 * memory-mapped datastore is not available: the drafters only see the counts, so their trees are the same.
 */
final class CorpusCounts {
    private CorpusCounts() {}

    /** The {@code .py} files under {@code dir}, sorted, skipping folders named in {@code excluded}. */
    static List<Path> pythonFiles(Path dir, List<String> excluded) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".py"))
                    .filter(p -> excluded.stream().noneMatch(x -> dir.relativize(p).toString().contains(x)))
                    .sorted()
                    .toList();
        }
    }

    /** Tokenizes files in order until {@code maxBytes} of text are read; returns the counts and the tokens read. */
    static MapCounts count(Tokenizer tokenizer, List<Path> files, long maxBytes, long[] tokensRead) throws IOException {
        int v = tokenizer.vocabSize();
        Long2IntOpenHashMap tri = new Long2IntOpenHashMap();
        Long2IntOpenHashMap bi = new Long2IntOpenHashMap();
        long bytes = 0;
        for (Path f : files) {
            if (bytes >= maxBytes) {
                break;
            }
            String text = new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
            bytes += text.length();
            int[] t = tokenizer.encode(text);
            tokensRead[0] += t.length;
            for (int i = 1; i < t.length; i++) {
                bi.addTo((long) t[i - 1] * v + t[i], 1);
                if (i >= 2) {
                    tri.addTo(((long) t[i - 2] * v + t[i - 1]) * v + t[i], 1);
                }
            }
        }
        MapCounts counts = new MapCounts(v);
        for (Long2IntMap.Entry e : tri.long2IntEntrySet()) {
            long k = e.getLongKey();
            counts.trigram((int) (k / v / v), (int) (k / v % v), (int) (k % v), e.getIntValue());
        }
        for (Long2IntMap.Entry e : bi.long2IntEntrySet()) {
            long k = e.getLongKey();
            counts.bigram((int) (k / v), (int) (k % v), e.getIntValue());
        }
        return counts;
    }
}
