package dev.aded.core.text;

import it.unimi.dsi.fastutil.ints.IntArrayList;

/**
 * Turns tokens into text as they arrive, emitting whole characters only.
 *
 * <p>A byte-level BPE token can end in the middle of a UTF-8 character, which decodes to U+FFFD until the rest
 * arrives, so text ending in U+FFFD is held back. Decoding a lone token can also differ from decoding it in context
 * (tokenizers that strip a leading space), so each decode covers a short window of earlier tokens and only the text
 * past the window's already-emitted prefix is new.
 */
public final class StreamDecoder {
    private static final int WINDOW_KEEP = 4;
    private static final int WINDOW_MAX = 32;

    private final Tokenizer tokenizer;
    private final IntArrayList tokens = new IntArrayList();
    private int windowStart;
    private int emittedChars;

    public StreamDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds a token and returns the text that became final, possibly empty. */
    public String push(int token) {
        tokens.add(token);
        String window = decodeWindow();
        if (window.endsWith("\uFFFD") || window.length() < emittedChars) {
            return "";
        }
        String piece = window.substring(emittedChars);
        emittedChars = window.length();
        if (tokens.size() - windowStart > WINDOW_MAX) {
            windowStart = tokens.size() - WINDOW_KEEP;
            emittedChars = decodeWindow().length();
        }
        return piece;
    }

    /** Returns whatever is still held back (an incomplete character decodes as U+FFFD here). */
    public String flush() {
        String window = decodeWindow();
        String piece = window.length() > emittedChars ? window.substring(emittedChars) : "";
        emittedChars = window.length();
        return piece;
    }

    private String decodeWindow() {
        return tokenizer.decode(tokens.elements(), windowStart, tokens.size());
    }
}
