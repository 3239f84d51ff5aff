package dev.aded.datastore;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test corpora and a plain reference count to compare the builder with. */
final class Corpus {
    static final Path MODEL = Path.of("..", "aded-examples", "models", "code-15m");
    static final Path TOKENIZER = MODEL.resolve("tokenizer.json");

    private Corpus() {}

    /** A small Python project: two modules, a JSONL file of two documents, and an excluded vendored package. */
    static Path write(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("pkg/vendor/networkx"));
        Files.writeString(dir.resolve("pkg/a.py"), "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
                + "    return a - b\n\n\nfor i in range(10):\n    print(add(i, i))\n");
        Files.writeString(dir.resolve("pkg/b.py"), "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
                + "    def push(self, x):\n        self.items.append(x)\n\n    def pop(self):\n"
                + "        return self.items.pop()\n");
        Files.writeString(dir.resolve("pkg/docs.jsonl"), "{\"text\": \"import os\\nimport sys\\n\"}\n"
                + "{\"text\": \"return a + b\\nreturn a - b\\n\"}\n");
        Files.writeString(dir.resolve("pkg/vendor/networkx/graph.py"), "def excluded_function_name(): pass\n");
        Files.writeString(dir.resolve("pkg/image.bin"), "not text by extension");
        return dir.resolve("pkg");
    }

    static List<String> documents(Path dir) throws IOException {
        return List.of(Files.readString(dir.resolve("a.py")), Files.readString(dir.resolve("b.py")),
                "import os\nimport sys\n", "return a + b\nreturn a - b\n");
    }

    /** Tri-gram counts keyed (a·V + b)·V + c, each document on its own. */
    static Long2IntOpenHashMap trigrams(List<String> docs, int vocab) throws IOException {
        Long2IntOpenHashMap counts = new Long2IntOpenHashMap();
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(TOKENIZER)
                .optAddSpecialTokens(false).optTruncation(false).optMaxLength(Integer.MAX_VALUE).build()) {
            for (String d : docs) {
                long[] ids = tok.encode(d, false, false).getIds();
                for (int i = 2; i < ids.length; i++) {
                    counts.addTo((ids[i - 2] * vocab + ids[i - 1]) * vocab + ids[i], 1);
                }
            }
        }
        return counts;
    }

    static DatastoreInfo build(Path input, Path out, long memory) throws IOException {
        return DatastoreBuilder.create().tokenizer(MODEL).input(input).exclude("**/networkx/**").threads(2)
                .memoryBudgetBytes(memory).build(out);
    }
}
