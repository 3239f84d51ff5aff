package dev.aded.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Streams the real code-15m tokenizer's tokens back to text. */
class StreamDecoderTest {
    static final Path MODEL = Path.of("..", "aded-examples", "models", "code-15m");
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(MODEL);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void piecesAreWholeCharactersAndConcatenateToTheFullDecode() {
        String text = "def grüße(n):\n    # naïve — 日本語 🙂 ok\n    return [x ** 2 for x in range(n)]\n" + "x = 1\n".repeat(30);
        int[] ids = tokenizer.encode(text, false);
        StreamDecoder d = new StreamDecoder(tokenizer);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = d.push(id);
            assertFalse(piece.contains("\uFFFD"), "a piece split a character: " + piece);
            out.append(piece);
        }
        out.append(d.flush());
        assertEquals(tokenizer.decode(ids, 0, ids.length), out.toString());
        assertEquals(text, out.toString());
    }

    @Test
    void tokenizerKeepsLongTextsWhole() {
        String text = "print(1)\n".repeat(400);
        int[] ids = tokenizer.encode(text);
        assertEquals(1, ids[0], "BOS first");
        assertEquals(text, tokenizer.decode(ids, 0, ids.length));
        assertEquals(8192, tokenizer.vocabSize());
    }
}
