package dev.aded.core;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fake model for the decoding loop's control flow: whatever it is given, the token it favours after position p
 * is {@code script[p + 1]} (a filler past the script's end). Its sessions check the order and bounds of the calls
 * (contiguous prefill, trees that fit the cache, commits along one branch) and record what their cache holds.
 */
final class ScriptedModel implements TargetModel {
    static final int VOCAB = 8192;
    static final int FILLER = 3;
    /** The drafter's wrong guess. */
    static final int WRONG = 4;

    private final int[] script;
    private final int maxContext;
    private final int[] eos;
    final List<Session> sessions = new ArrayList<>();
    /** Where the model stands in for a device ({@link #simulatingPasses}): what a pass costs, what each held. */
    private long passNanos;
    private long treeNanos;
    private boolean passesSleep;
    /** Time spent in simulated passes, as measured: a parked thread wakes late. */
    private final AtomicLong passedNanos = new AtomicLong();
    private List<Integer> passTrees;

    ScriptedModel(int[] script, int maxContext, int... eos) {
        this.script = script.clone();
        this.maxContext = maxContext;
        this.eos = eos.clone();
    }

    int favourite(int position) {
        return position + 1 < script.length ? script[position + 1] : FILLER;
    }

    @Override
    public String name() {
        return "scripted";
    }

    @Override
    public String device() {
        return "none";
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public int maxContext() {
        return maxContext;
    }

    @Override
    public int[] eosTokenIds() {
        return eos.clone();
    }

    @Override
    public synchronized ModelSession newSession(int maxTokens) {
        if (maxTokens > maxContext) {
            throw new IllegalArgumentException("session of " + maxTokens + " tokens over the context " + maxContext);
        }
        Session s = new Session(maxTokens);
        sessions.add(s);
        return s;
    }

    /**
     * Makes each pass spin for {@code micros} plus {@code microsPerTree} for each tree it holds (a device whose
     * pass costs its weights' reads alone has no per-tree part; code-15m's passes have one), and record its trees
     * in {@code trees}. Set before the sessions step. {@code sleep}: the pass parks its thread instead of spinning,
     * leaving the core to the others, as a 16-core host's one waiting thread leaves nearly all of its cores to
     * the rest.
     */
    ScriptedModel simulatingPasses(long micros, long microsPerTree, boolean sleep, List<Integer> trees) {
        this.passNanos = micros * 1000;
        this.treeNanos = microsPerTree * 1000;
        this.passesSleep = sleep;
        this.passTrees = trees;
        return this;
    }

    @Override
    public TreeLogits[] forwardAll(ModelSession[] sessions, DraftTree[] trees, int count) {
        if (passTrees != null) {
            passTrees.add(count);
            long nanos = passNanos + count * treeNanos;
            long start = System.nanoTime();
            if (passesSleep) {
                // The scheduler may unpark this thread (it leads the pass): a wake-up is no end of the pass.
                for (long left = nanos; left > 0; left = start + nanos - System.nanoTime()) {
                    LockSupport.parkNanos(left);
                }
            } else {
                spin(nanos);
            }
            passedNanos.addAndGet(System.nanoTime() - start);
        }
        return TargetModel.super.forwardAll(sessions, trees, count);
    }

    /** Time the simulated passes took in all. */
    long passedNanos() {
        return passedNanos.get();
    }

    /** Busy for {@code nanos}, as a host thread driving a device is. */
    static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {}

    final class Session implements ModelSession {
        final int capacity;
        final IntArrayList cached = new IntArrayList();
        /** Each prefill as "from-to" and each truncate as "truncate n", in order. */
        final List<String> calls = new ArrayList<>();
        int forwards;
        boolean closed;
        private DraftTree tree;

        Session(int capacity) {
            this.capacity = capacity;
        }

        @Override
        public int cachedLength() {
            return cached.size();
        }

        @Override
        public void prefill(int[] tokens, int from, int to) {
            check(from < to && cached.size() + to - from <= capacity, "prefill " + from + "-" + to);
            calls.add(from + "-" + to);
            cached.addElements(cached.size(), tokens, from, to - from);
        }

        @Override
        public TreeLogits forward(DraftTree t) {
            check(cached.size() + t.size() <= capacity,
                    "tree of " + t.size() + " nodes after " + cached.size() + " cached, capacity " + capacity);
            forwards++;
            tree = t;
            int base = cached.size();
            return new TreeLogits() {
                @Override
                public int argmax(int node) {
                    return favourite(base + t.depth(node));
                }

                @Override
                public void logits(int node, float[] out) {
                    java.util.Arrays.fill(out, 0, VOCAB, 0f);
                    out[argmax(node)] = 8f;
                }
            };
        }

        @Override
        public void commit(int[] path, int count) {
            // Nothing kept (count 0) is a commit too: the cost model's timing passes keep no node.
            check(count == 0 || count >= 1 && path[0] == 0, "a commit must start at the root");
            for (int i = 1; i < count; i++) {
                check(tree.parent(path[i]) == path[i - 1], "commit path leaves its branch at " + i);
            }
            check(cached.size() + count <= capacity, "commit past the capacity");
            for (int i = 0; i < count; i++) {
                cached.add(tree.token(path[i]));
            }
        }

        @Override
        public void truncate(int length) {
            check(length >= 0 && length <= cached.size(), "truncate " + length + " of " + cached.size());
            calls.add("truncate " + length);
            cached.size(length);
        }

        @Override
        public void close() {
            closed = true;
        }

        private void check(boolean ok, String what) {
            if (closed || !ok) {
                throw new IllegalStateException((closed ? "closed session: " : "") + what);
            }
        }
    }

    /**
     * Drafts the script's next tokens as one chain below the root, after a wrong first child that the model never
     * confirms; records the budget and depth it was given.
     */
    static final class ScriptDrafter implements DrafterFactory, Drafter {
        private final int[] script;
        final IntArrayList budgets = new IntArrayList();
        final IntArrayList depths = new IntArrayList();
        int accepted;

        ScriptDrafter(int[] script) {
            this.script = script.clone();
        }

        @Override
        public String name() {
            return "script";
        }

        @Override
        public Drafter newDrafter() {
            return this;
        }

        @Override
        public void draft(int[] context, int length, int budget, int maxDepth, DraftTree tree) {
            budgets.add(budget);
            depths.add(maxDepth);
            if (length >= script.length || script[length] != WRONG) {
                tree.add(0, WRONG, 0.1f);
            }
            int parent = 0;
            for (int d = 0; d < Math.min(budget - 1, maxDepth) && length + d < script.length; d++) {
                parent = tree.add(parent, script[length + d], 0.9f);
            }
        }

        @Override
        public void onAccepted(int[] context, int length, int newTokens, int acceptedDraftTokens) {
            accepted += acceptedDraftTokens;
        }
    }
}
