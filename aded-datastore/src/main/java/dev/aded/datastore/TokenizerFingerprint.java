package dev.aded.datastore;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * A SHA-256 over what decides token ids: the tokenizer model's type, its vocabulary (token → id, in id order), its
 * merges, and the added tokens. Formatting and unrelated settings of {@code tokenizer.json} do not change it, so
 * the same tokenizer saved by another library version still matches.
 */
public final class TokenizerFingerprint {
    private TokenizerFingerprint() {}

    /** @param tokenizer a model folder or its {@code tokenizer.json} */
    public static byte[] of(Path tokenizer) {
        Path file = Files.isDirectory(tokenizer) ? tokenizer.resolve("tokenizer.json") : tokenizer;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonObject root = JsonParser.parseReader(r).getAsJsonObject();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            JsonObject model = root.getAsJsonObject("model");
            if (model == null) {
                throw new IllegalArgumentException("tokenizer " + file + " has no \"model\"");
            }
            update(sha, "type:" + (model.has("type") ? model.get("type").getAsString() : ""));
            JsonElement vocab = model.get("vocab");
            if (vocab != null && vocab.isJsonObject()) {
                TreeMap<Integer, String> byId = new TreeMap<>();
                for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                    byId.put(e.getValue().getAsInt(), e.getKey());
                }
                byId.forEach((id, token) -> update(sha, "v:" + id + ":" + token));
            } else if (vocab != null) {
                update(sha, "v:" + vocab);
            }
            if (model.has("merges")) {
                for (JsonElement m : model.getAsJsonArray("merges")) {
                    update(sha, "m:" + (m.isJsonArray() ? m.getAsJsonArray().get(0).getAsString() + " "
                            + m.getAsJsonArray().get(1).getAsString() : m.getAsString()));
                }
            }
            if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
                for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                    JsonObject o = t.getAsJsonObject();
                    update(sha, "a:" + o.get("id").getAsInt() + ":" + o.get("content").getAsString());
                }
            }
            return sha.digest();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("tokenizer " + file + " is not valid: " + e.getMessage(), e);
        }
    }

    public static String hex(byte[] fingerprint) {
        return HexFormat.of().formatHex(fingerprint);
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }
}
