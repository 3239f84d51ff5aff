package dev.aded.datastore;

import com.google.gson.JsonObject;

/** What a datastore file holds, as {@code aded datastore info} prints it. */
public record DatastoreInfo(int formatVersion, int vocabSize, int topK, long tokensCounted, long trigramContexts,
        long trigramEntries, long bigramContexts, long bigramEntries, long fileBytes, String tokenizerFingerprint) {

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format_version", formatVersion);
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("top_k", topK);
        o.addProperty("tokens_counted", tokensCounted);
        o.addProperty("contexts", trigramContexts);
        o.addProperty("entries", trigramEntries);
        o.addProperty("bigram_contexts", bigramContexts);
        o.addProperty("bigram_entries", bigramEntries);
        o.addProperty("file_bytes", fileBytes);
        o.addProperty("tokenizer_fingerprint", tokenizerFingerprint);
        return o;
    }
}
