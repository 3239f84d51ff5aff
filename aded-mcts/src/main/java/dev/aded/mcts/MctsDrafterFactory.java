package dev.aded.mcts;

import dev.aded.core.Drafter;
import dev.aded.core.DrafterFactory;
import dev.aded.core.text.Tokenizer;
import dev.aded.datastore.NgramCounts;

/** Hands out {@link MctsDrafter}s over one shared (thread-safe) set of counts; named {@code "aded"}. */
public final class MctsDrafterFactory implements DrafterFactory {
    private final NgramCounts counts;
    private final DrafterOptions options;

    public MctsDrafterFactory(NgramCounts counts, DrafterOptions options) {
        this.counts = counts;
        this.options = options;
    }

    public MctsDrafterFactory(NgramCounts counts) {
        this(counts, DrafterOptions.defaults());
    }

    @Override
    public String name() {
        return "aded";
    }

    @Override
    public Drafter newDrafter() {
        return new MctsDrafter(counts, options);
    }

    @Override
    public void checkCompatible(Tokenizer tokenizer) {
        counts.requireTokenizer(tokenizer.file(), tokenizer.vocabSize());
    }

    /** The options every drafter gets. */
    public DrafterOptions options() {
        return options;
    }
}
