package dev.aded.datastore;

import java.nio.charset.StandardCharsets;

/**
 * The layout of a datastore file (specified in docs/datastore-format.md). All numbers little-endian.
 *
 * <pre>
 * header (96 bytes)
 *   0  magic "ADEDNGRM"      8  u32 format version     12 u32 vocab size    16 u32 k (top-k kept)
 *   20 u32 reserved (0)      24 u64 tokens counted     32 u64 trigram contexts
 *   40 u64 trigram entries   48 u64 bigram entries     56 32-byte tokenizer fingerprint (SHA-256)
 *   88 u32 CRC32C of the body                          92 u32 CRC32C of header bytes 0..92
 * body
 *   bigram offsets   u32 × (vocab + 1)        entries of token b are [off[b], off[b+1])
 *   bigram entries   (i32 token, i32 count) × bigram entries
 *   trigram keys     u64 × contexts           a·vocab + b, strictly ascending
 *   trigram offsets  u32 × (contexts + 1)
 *   trigram entries  (i32 token, i32 count) × trigram entries
 * </pre>
 * Within a context, entries are sorted by count descending, then token ascending.
 */
final class DatastoreFormat {
    static final byte[] MAGIC = "ADEDNGRM".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_BYTES = 96;
    static final int BODY_CRC_AT = 88;
    static final int HEADER_CRC_AT = 92;
    static final int FINGERPRINT_AT = 56;

    private DatastoreFormat() {}
}
