package dev.aded.core;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * What one generation should do: how many tokens, how to sample, when to stop and how to draft. Immutable; build
 * with {@link #builder()}. Invalid values are refused when built, with a message naming the option.
 */
public final class GenerationConfig {
    /**
     * The most draft nodes one step may verify: verifiers take trees of up to 256 nodes, the root (the last
     * accepted token) included.
     */
    public static final int MAX_TREE_BUDGET = 255;
    /**
     * The draft nodes a step may verify unless the config says otherwise; see {@link #treeBudget()}. With the root,
     * 64 nodes: a power of two, the size a verifier that pads trees to powers of two (CUDA graph buckets) runs
     * without padding.
     */
    public static final int DEFAULT_TREE_BUDGET = 63;

    private final int maxNewTokens;
    private final double temperature;
    private final double topP;
    private final int topK;
    /** Null: each generation draws its own. */
    private final Long seed;
    private final List<String> stopStrings;
    private final Mode mode;
    private final int treeBudget;
    private final int maxDraftDepth;
    private final ContextOverflow contextOverflow;

    private GenerationConfig(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.topP = b.topP;
        this.topK = b.topK;
        this.seed = b.seed;
        this.stopStrings = List.copyOf(b.stopStrings);
        this.mode = b.mode;
        this.treeBudget = b.treeBudget;
        this.maxDraftDepth = b.maxDraftDepth;
        this.contextOverflow = b.contextOverflow;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Greedy decoding of up to 128 tokens, mode chosen by the generator. */
    public static GenerationConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxNewTokens = maxNewTokens;
        b.temperature = temperature;
        b.topP = topP;
        b.topK = topK;
        b.seed = seed;
        b.stopStrings = stopStrings;
        b.mode = mode;
        b.treeBudget = treeBudget;
        b.maxDraftDepth = maxDraftDepth;
        b.contextOverflow = contextOverflow;
        return b;
    }

    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** 0 means greedy (argmax); otherwise logits are divided by it before sampling. */
    public double temperature() {
        return temperature;
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public double topP() {
        return topP;
    }

    /** 0 means no top-k cut. */
    public int topK() {
        return topK;
    }

    /** The sampling seed; empty (the default) gives each generation a random one, so sampled calls differ. */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    public List<String> stopStrings() {
        return stopStrings;
    }

    /** The drafting mode, or null to let the generator choose (ADED when it has a datastore, else AR). */
    public Mode mode() {
        return mode;
    }

    /**
     * The most draft nodes a step may verify, the context-lookup chain included. In {@link Mode#ADED} each step
     * drafts this many candidates and verifies only as many of them as pay for their verification time on this
     * model and device (down to none); {@link Mode#PLD} verifies its whole chain.
     */
    public int treeBudget() {
        return treeBudget;
    }

    public int maxDraftDepth() {
        return maxDraftDepth;
    }

    public ContextOverflow contextOverflow() {
        return contextOverflow;
    }

    @Override
    public String toString() {
        return "GenerationConfig{maxNewTokens=" + maxNewTokens + ", temperature=" + temperature + ", topP=" + topP
                + ", topK=" + topK + ", seed=" + seed + ", stopStrings=" + stopStrings + ", mode=" + mode
                + ", treeBudget=" + treeBudget + ", maxDraftDepth=" + maxDraftDepth + "}";
    }

    /** Builder for {@link GenerationConfig}. */
    public static final class Builder {
        private int maxNewTokens = 128;
        private double temperature;
        private double topP = 1.0;
        private int topK;
        private Long seed;
        private List<String> stopStrings = List.of();
        private Mode mode;
        private int treeBudget = DEFAULT_TREE_BUDGET;
        private int maxDraftDepth = 16;
        private ContextOverflow contextOverflow = ContextOverflow.ERROR;

        private Builder() {}

        public Builder maxNewTokens(int n) {
            this.maxNewTokens = n;
            return this;
        }

        public Builder temperature(double t) {
            this.temperature = t;
            return this;
        }

        public Builder topP(double p) {
            this.topP = p;
            return this;
        }

        public Builder topK(int k) {
            this.topK = k;
            return this;
        }

        /** Makes sampling repeatable: the same seed, prompt and options give the same text in every mode. */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Back to a random seed for each generation. */
        public Builder randomSeed() {
            this.seed = null;
            return this;
        }

        public Builder stopStrings(List<String> stops) {
            this.stopStrings = Objects.requireNonNull(stops, "stopStrings");
            return this;
        }

        public Builder stopStrings(String... stops) {
            return stopStrings(List.of(stops));
        }

        public Builder mode(Mode m) {
            this.mode = m;
            return this;
        }

        public Builder treeBudget(int nodes) {
            this.treeBudget = nodes;
            return this;
        }

        public Builder maxDraftDepth(int depth) {
            this.maxDraftDepth = depth;
            return this;
        }

        public Builder contextOverflow(ContextOverflow policy) {
            this.contextOverflow = Objects.requireNonNull(policy, "contextOverflow");
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid option */
        public GenerationConfig build() {
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
            }
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
            }
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
            }
            if (treeBudget < 1 || treeBudget > MAX_TREE_BUDGET) {
                throw new IllegalArgumentException("treeBudget must be in [1, " + MAX_TREE_BUDGET + "], got "
                        + treeBudget);
            }
            if (maxDraftDepth < 1 || maxDraftDepth > MAX_TREE_BUDGET) {
                throw new IllegalArgumentException("maxDraftDepth must be in [1, " + MAX_TREE_BUDGET + "], got "
                        + maxDraftDepth);
            }
            for (String s : stopStrings) {
                if (s == null || s.isEmpty()) {
                    throw new IllegalArgumentException("stop strings must not be empty");
                }
            }
            return new GenerationConfig(this);
        }
    }
}
