package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.DraftTree;
import dev.aded.core.Drafter;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.AdaptiveCounts;
import dev.aded.datastore.Datastore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The drafters over the real memory-mapped datastore shipped with the code-15m model. */
class ShippedDatastoreTest {
    private static final Path MODEL =
            Path.of(System.getProperty("aded.root", "..")).resolve("aded-examples/models/code-15m");

    @Test
    void draftsValidTreesAndLearnsIntoAdaptiveCounts() {
        try (Tokenizer tokenizer = Tokenizer.load(MODEL);
                Datastore datastore = Datastore.open(MODEL.resolve("default.aded"))) {
            AdaptiveCounts counts = new AdaptiveCounts(datastore);
            MctsDrafterFactory factory = new MctsDrafterFactory(counts);
            factory.checkCompatible(tokenizer);
            int[] context = tokenizer.encode("import os\n\n\ndef main():\n    for name in os.listdir(path):\n        ");
            int length = context.length;
            DraftTree tree = new DraftTree(65);
            for (Drafter drafter : new Drafter[] {factory.newDrafter(),
                    new BestFirstDrafterFactory(counts).newDrafter()}) {
                tree.reset(context[length - 1]);
                drafter.draft(context, length, 64, 8, tree);
                Trees.assertValid(tree, 64, 8);
                assertEquals(65, tree.size(), "a common Python context fills the whole budget");
            }

            int[] generated = tokenizer.encode("import os\n\n\ndef main():\n    zqx_unusual_name = 1\n");
            Drafter drafter = factory.newDrafter();
            // The last five tokens are what a step produced: four accepted from a draft, one the model's own.
            drafter.onAccepted(generated, generated.length, 5, 4);
            assertTrue(counts.observedTokens() > 0);
            int a = generated[generated.length - 3];
            int b = generated[generated.length - 2];
            assertTrue(counts.learnedCount(a, b, generated[generated.length - 1]) > 0,
                    "the accepted tokens' tri-gram reached the adaptive counts");
        }
    }
}
