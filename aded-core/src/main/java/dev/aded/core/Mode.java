package dev.aded.core;

import java.util.Locale;

/** How the next tokens are proposed before the model checks them. */
public enum Mode {
    /** Plain autoregressive decoding: one forward pass per token. */
    AR,
    /** Prompt-lookup decoding: drafts copied from where the last n-gram occurred earlier in the sequence. */
    PLD,
    /** Adaptive retrieval drafts: a token tree grown from the tri-gram datastore. */
    ADED;

    /** Parses {@code ar}, {@code pld} or {@code aded}, with an error that lists the choices. */
    public static Mode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown mode '" + s + "': expected ar, pld or aded", e);
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
