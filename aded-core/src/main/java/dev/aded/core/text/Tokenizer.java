package dev.aded.core.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model's Hugging Face tokenizer ({@code tokenizer.json}), with truncation and padding off: DJL would otherwise cut
 * every text to 512 tokens. Thread-safe: the native tokenizer is read-only after loading.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    private final Path file;
    private final int vocabSize;

    private Tokenizer(HuggingFaceTokenizer hf, Path file, int vocabSize) {
        this.hf = hf;
        this.file = file;
        this.vocabSize = vocabSize;
    }

    /**
     * Loads {@code tokenizer.json} from a model folder (or the file itself).
     *
     * @throws IllegalArgumentException naming the file when it is missing or not a tokenizer
     */
    public static Tokenizer load(Path modelDirOrFile) {
        Path file = Files.isDirectory(modelDirOrFile) ? modelDirOrFile.resolve("tokenizer.json") : modelDirOrFile;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer: " + file + " does not exist");
        }
        int vocab = readVocabSize(file);
        try {
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .optMaxLength(Integer.MAX_VALUE)
                    .build();
            return new Tokenizer(hf, file, vocab);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** One past the highest token id of the vocabulary and the added tokens. */
    private static int readVocabSize(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonObject root = JsonParser.parseReader(r).getAsJsonObject();
            int max = -1;
            JsonObject model = root.getAsJsonObject("model");
            if (model != null && model.has("vocab") && model.get("vocab").isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
                    max = Math.max(max, e.getValue().getAsInt());
                }
            } else if (model != null && model.has("vocab") && model.get("vocab").isJsonArray()) {
                max = model.getAsJsonArray("vocab").size() - 1;
            }
            if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
                for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                    max = Math.max(max, t.getAsJsonObject().get("id").getAsInt());
                }
            }
            if (max < 0) {
                throw new IllegalArgumentException("tokenizer " + file + " has no vocabulary");
            }
            return max + 1;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no tokenizer: " + file + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file, e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("tokenizer " + file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Encodes text the way the model was trained to see it, special tokens (such as BOS) included. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Encodes text; {@code addSpecialTokens} false gives the bare pieces, as for a corpus fragment. */
    public int[] encode(String text, boolean addSpecialTokens) {
        Encoding enc = hf.encode(text, addSpecialTokens, false);
        long[] ids = enc.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** Decodes {@code ids[from, to)}, special tokens left out. */
    public String decode(int[] ids, int from, int to) {
        long[] l = new long[to - from];
        for (int i = from; i < to; i++) {
            l[i - from] = ids[i];
        }
        return hf.decode(l, true);
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The {@code tokenizer.json} this tokenizer was loaded from (datastores fingerprint it). */
    public Path file() {
        return file;
    }

    @Override
    public void close() {
        hf.close();
    }
}
