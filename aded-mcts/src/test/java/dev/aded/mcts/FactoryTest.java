package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.aded.core.text.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class FactoryTest {
    private static final Path MODEL =
            Path.of(System.getProperty("aded.root", "..")).resolve("aded-examples/models/code-15m");

    @Test
    void factoriesHandOutFreshDraftersUnderTheirNames() {
        MapCounts counts = new MapCounts(10);
        MctsDrafterFactory mcts = new MctsDrafterFactory(counts);
        BestFirstDrafterFactory bestFirst = new BestFirstDrafterFactory(counts, DrafterOptions.defaults());
        assertEquals("aded", mcts.name());
        assertEquals("best-first", bestFirst.name());
        assertInstanceOf(MctsDrafter.class, mcts.newDrafter());
        assertInstanceOf(BestFirstDrafter.class, bestFirst.newDrafter());
        assertNotSame(mcts.newDrafter(), mcts.newDrafter());
        assertEquals(DrafterOptions.defaults(), mcts.options());
    }

    @Test
    void compatibilityIsCheckedAgainstTheModelTokenizer() {
        try (Tokenizer tokenizer = Tokenizer.load(MODEL)) {
            MapCounts matching = new MapCounts(tokenizer.vocabSize());
            new MctsDrafterFactory(matching).checkCompatible(tokenizer);
            assertEquals(tokenizer.file(), matching.requiredTokenizer);
            MapCounts other = new MapCounts(tokenizer.vocabSize() + 1);
            assertThrows(IllegalArgumentException.class,
                    () -> new BestFirstDrafterFactory(other, DrafterOptions.defaults()).checkCompatible(tokenizer));
        }
    }

    @Test
    void invalidOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> DrafterOptions.defaults().withMaxChildren(0));
        assertThrows(IllegalArgumentException.class, () -> DrafterOptions.defaults().withExploration(-1));
        assertThrows(IllegalArgumentException.class, () -> DrafterOptions.defaults().withUnseenMass(Double.NaN));
    }
}
