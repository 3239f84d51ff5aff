package dev.aded.core;

import java.util.Arrays;
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
    /** OpenAI's limit too; every generated token carries its alternatives, so the bound keeps results small. */
    public static final int MAX_TOP_LOGPROBS = 20;

    private final int maxNewTokens;
    private final double temperature;
    private final double topP;
    private final int topK;
    private final double minP;
    private final double repetitionPenalty;
    /** Null: each generation draws its own. */
    private final Long seed;
    private final List<String> stopStrings;
    private final int[] stopTokenIds;
    private final boolean logprobs;
    private final int topLogprobs;
    private final Mode mode;
    private final int treeBudget;
    private final int maxDraftDepth;
    private final ContextOverflow contextOverflow;

    private GenerationConfig(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.topP = b.topP;
        this.topK = b.topK;
        this.minP = b.minP;
        this.repetitionPenalty = b.repetitionPenalty;
        this.seed = b.seed;
        this.stopStrings = List.copyOf(b.stopStrings);
        this.stopTokenIds = b.stopTokenIds.clone();
        this.logprobs = b.logprobs;
        this.topLogprobs = b.topLogprobs;
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
        b.minP = minP;
        b.repetitionPenalty = repetitionPenalty;
        b.seed = seed;
        b.stopStrings = stopStrings;
        b.stopTokenIds = stopTokenIds;
        b.logprobs = logprobs;
        b.topLogprobs = topLogprobs;
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

    /**
     * Min-p sampling: tokens less likely than {@code minP} times the most likely one are dropped (applied after top-k
     * and top-p, as Hugging Face does); 0 means off. Greedy decoding ignores it.
     */
    public double minP() {
        return minP;
    }

    /**
     * Hugging Face's repetition penalty: before anything else, the logit of every token already in the sequence
     * (prompt included) is divided by it when positive and multiplied by it when negative; 1 means off. Applies to
     * greedy decoding too.
     */
    public double repetitionPenalty() {
        return repetitionPenalty;
    }

    /** Token ids that end the generation, like the model's end-of-sequence tokens (not part of the output). */
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    /** Whether {@link GenerationResult#logprobs()} is filled: one entry per generated token. */
    public boolean logprobs() {
        return logprobs;
    }

    /** How many of the likeliest tokens each {@link TokenLogprobs} lists beside the chosen one. */
    public int topLogprobs() {
        return topLogprobs;
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
                + ", topK=" + topK + ", minP=" + minP + ", repetitionPenalty=" + repetitionPenalty + ", seed=" + seed
                + ", stopStrings=" + stopStrings + ", stopTokenIds=" + Arrays.toString(stopTokenIds)
                + ", logprobs=" + logprobs + ", topLogprobs=" + topLogprobs + ", mode=" + mode
                + ", treeBudget=" + treeBudget + ", maxDraftDepth=" + maxDraftDepth + "}";
    }

    /** Builder for {@link GenerationConfig}. */
    public static final class Builder {
        private int maxNewTokens = 128;
        private double temperature;
        private double topP = 1.0;
        private int topK;
        private double minP;
        private double repetitionPenalty = 1.0;
        private Long seed;
        private List<String> stopStrings = List.of();
        private int[] stopTokenIds = new int[0];
        private boolean logprobs;
        private int topLogprobs;
        private Mode mode;
        private int treeBudget = DEFAULT_TREE_BUDGET;
        private int maxDraftDepth = 32;
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

        /** Drops tokens less likely than {@code p} times the most likely one; 0 (the default) is off. */
        public Builder minP(double p) {
            this.minP = p;
            return this;
        }

        /** Penalises tokens already in the sequence; above 1 discourages repeats, 1 (the default) is off. */
        public Builder repetitionPenalty(double penalty) {
            this.repetitionPenalty = penalty;
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

        /** Ends the generation at any of these token ids, as at the model's end-of-sequence tokens. */
        public Builder stopTokenIds(int... ids) {
            this.stopTokenIds = Objects.requireNonNull(ids, "stopTokenIds").clone();
            return this;
        }

        /** Records each generated token's log-probability in {@link GenerationResult#logprobs()}. */
        public Builder logprobs(boolean on) {
            this.logprobs = on;
            return this;
        }

        /** Also lists the {@code k} likeliest tokens at each position (at most 20); needs {@code logprobs(true)}. */
        public Builder topLogprobs(int k) {
            this.topLogprobs = k;
            return this;
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
            if (!(minP >= 0 && minP <= 1)) {
                throw new IllegalArgumentException("minP must be in [0, 1] (0 = off), got " + minP);
            }
            if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
                throw new IllegalArgumentException(
                        "repetitionPenalty must be a finite number > 0 (1 = off), got " + repetitionPenalty);
            }
            for (int id : stopTokenIds) {
                if (id < 0) {
                    throw new IllegalArgumentException("stop token ids must be >= 0, got " + id);
                }
            }
            if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
                throw new IllegalArgumentException(
                        "topLogprobs must be in [0, " + MAX_TOP_LOGPROBS + "], got " + topLogprobs);
            }
            if (topLogprobs > 0 && !logprobs) {
                throw new IllegalArgumentException("topLogprobs " + topLogprobs + " needs logprobs(true)");
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
