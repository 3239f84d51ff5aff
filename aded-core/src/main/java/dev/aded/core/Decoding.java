package dev.aded.core;

import dev.aded.core.text.StopMatcher;
import dev.aded.core.text.StreamDecoder;
import dev.aded.core.text.Tokenizer;
import it.unimi.dsi.fastutil.doubles.DoubleArrayList;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.Lock;

/**
 * One generation, from prompt to finish: prefill, then draft → tree → verify → accept → update until a stop
 * condition. Owns its buffers, its drafter and its model session; the model itself is shared: the prefill runs
 * under the generator's device lock a chunk at a time, so that running generations step between the chunks, and
 * each tree is verified through the generator's {@link StepScheduler}, in one pass with the other running
 * generations' trees. In {@link Mode#ADED} a {@link TreeSizer} picks the part of each draft
 * worth verifying, priced by the shared {@link VerifierCostModel}, which each step's timing keeps current.
 */
final class Decoding {
    private final TargetModel model;
    private final Tokenizer tokenizer;
    private final GenerationConfig config;
    private final Mode mode;
    private final Drafter drafter;
    private final int budget;
    private final VerifierCostModel cost;
    private final TreeSizer sizer;
    private final Lock deviceLock;
    private final StepScheduler scheduler;
    private final TextListener listener;
    private final Cancellation cancellation;
    private final PrefixCache kept;

    private final int[] context;
    private int length;
    private final int promptLength;
    private final int capacity;

    private final DraftTree tree;
    private final PathAcceptor acceptor;
    private final int[] path;
    private final int[] stepTokens;
    /** Null when log-probabilities are off. */
    private final TokenLogprobs[] stepLogprobs;
    private final List<TokenLogprobs> logprobs = new ArrayList<>();
    private final SplittableRandom random;
    private final StreamDecoder decoder;
    private final StopMatcher stops;
    private final StringBuilder text = new StringBuilder();
    /** Characters of {@link #text} handed to the listener. */
    private int sent;
    /** Tokens of the context decoded into {@link #text}: the prompt's, then those caught up on. */
    private int emitted;
    /** Where the tokens the drafter has yet to learn from start, or -1; and how many of them were drafted. */
    private int learnFrom = -1;
    private int learnDrafted;
    /** Whether a stop string has ended the output: the tokens past it are gone from the context. */
    private boolean stopped;
    private final IntArrayList acceptedPerStep = new IntArrayList();
    private final IntArrayList nodesPerStep = new IntArrayList();
    private final IntArrayList sequencesPerStep = new IntArrayList();
    private final DoubleArrayList predictedPerStep = new DoubleArrayList();
    private long draftNanos;
    private long verifyNanos;
    /** This generation's share of its passes' time: each pass's time divided among the trees in it. */
    private long passShareNanos;
    private long queueNanos;
    private int missedPasses;
    /** The number of this generation's last pass ({@link StepScheduler.Outcome#pass}); -1 before the first. */
    private long lastPass = -1;

    /**
     * @param cost the model's measured costs, which make ADED steps cost-aware; null verifies whole drafts
     * @param record what the generator's earlier aded generations learned of their drafts, which this one starts
     *     from and adds to
     * @param kept a cache kept between generations (a chat session's), or null for a session of this call's own
     */
    Decoding(TargetModel model, Tokenizer tokenizer, GenerationConfig config, Mode mode, Drafter drafter,
            VerifierCostModel cost, TreeSizer.Record record, int[] prompt, Lock deviceLock, StepScheduler scheduler,
            TextListener listener, Cancellation cancellation, PrefixCache kept) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.config = config;
        this.mode = mode;
        this.drafter = drafter;
        this.budget = drafter == null ? 0 : config.treeBudget();
        this.cost = drafter == null ? null : cost;
        this.sizer = this.cost == null ? null : new TreeSizer(budget, this.cost, record);
        this.deviceLock = deviceLock;
        this.scheduler = scheduler;
        this.listener = listener;
        this.cancellation = cancellation;
        this.kept = kept;
        this.promptLength = prompt.length;
        this.capacity = kept != null ? kept.capacity()
                : capacity(model, prompt.length, config.maxNewTokens(), this.budget);
        this.context = Arrays.copyOf(prompt, prompt.length + config.maxNewTokens() + 1);
        this.length = prompt.length;
        this.emitted = prompt.length;
        this.tree = new DraftTree(this.budget + 1);
        this.acceptor = new PathAcceptor(model.vocabSize(), config, prompt);
        this.path = new int[this.budget + 1];
        this.stepTokens = new int[this.budget + 1];
        this.stepLogprobs = config.logprobs() ? new TokenLogprobs[this.budget + 1] : null;
        this.random = new SplittableRandom(config.seed().orElseGet(() -> new SplittableRandom().nextLong()));
        this.decoder = tokenizer == null ? null : new StreamDecoder(tokenizer);
        this.stops = new StopMatcher(config.stopStrings());
    }

    /** The cache a generation needs: the prompt, the new tokens and one step's draft nodes past the last of them. */
    static int capacity(TargetModel model, int promptLength, int maxNewTokens, int budget) {
        return Math.min(model.maxContext(), promptLength + maxNewTokens + budget + 1);
    }

    /** Prompt tokens per hold of the device lock: how long a new prompt can hold up the running generations. */
    static final int PREFILL_CHUNK = 256;

    GenerationResult run() {
        long start = System.nanoTime();
        ModelSession session;
        deviceLock.lock();
        try {
            session = kept != null ? kept.session() : model.newSession(capacity);
        } finally {
            deviceLock.unlock();
        }
        try {
            int from = kept != null ? kept.reuse(context, length) : 0;
            for (int at = from; at < length - 1; at += PREFILL_CHUNK) {
                deviceLock.lock();
                try {
                    session.prefill(context, at, Math.min(length - 1, at + PREFILL_CHUNK));
                } finally {
                    deviceLock.unlock();
                }
            }
        } catch (RuntimeException | Error e) {
            if (kept != null) {
                kept.forget();
            } else {
                session.close();
            }
            throw e;
        }
        long prefillNanos = System.nanoTime() - start;
        FinishReason finish;
        scheduler.join();
        try {
            if (kept == null) {
                try (session) {
                    finish = loop(session);
                }
            } else {
                try {
                    finish = loop(session);
                    kept.keep(context, length);
                } catch (RuntimeException | Error e) {
                    kept.forget();
                    throw e;
                }
            }
        } finally {
            scheduler.leave();
            if (sizer != null) {
                sizer.handBack();
            }
        }
        finishText();
        int[] generated = Arrays.copyOfRange(context, promptLength, length);
        GenerationStats stats = new GenerationStats(mode, promptLength, generated.length,
                acceptedPerStep.toIntArray(), nodesPerStep.toIntArray(), predictedPerStep.toDoubleArray(),
                sequencesPerStep.toIntArray(), prefillNanos,
                draftNanos, verifyNanos, passShareNanos, queueNanos, missedPasses, System.nanoTime() - start);
        return new GenerationResult(text.toString(), generated, finish, stats, logprobs);
    }

    /**
     * The steps. What only the text needs (decoding, stop strings) and the drafter's learning from the new tokens
     * are caught up on while the next step's pass runs ({@link #catchUp}): on a GPU that host time overlaps the
     * device's, where it used to follow it. The next draft thus learns from the tokens before the last step's, and a
     * stop string is found one pass late: that pass's tokens are then dropped, uncommitted.
     */
    private FinishReason loop(ModelSession session) {
        int[] eos = model.eosTokenIds();
        int[] stopTokens = config.stopTokenIds();
        while (true) {
            if (cancellation.isCancelled() || Thread.currentThread().isInterrupted()) {
                return ended(FinishReason.CANCELLED);
            }
            draft(session);
            int cached = session.cachedLength();
            long t0 = System.nanoTime();
            StepScheduler.Outcome step = scheduler.step(session, tree, acceptor.readsLogits(), this::catchUp,
                    logits -> {
                        if (stopped) {
                            return 0;
                        }
                        int n = acceptor.accept(tree, logits, random, path, stepTokens, stepLogprobs);
                        session.commit(path, n);
                        return n;
                    });
            verifyNanos += System.nanoTime() - t0;
            sendText();
            if (stopped) {
                return FinishReason.STOP_STRING;
            }
            int produced = step.produced();
            acceptedPerStep.add(produced);
            if (listener != null) {
                listener.onStep(produced);
            }
            nodesPerStep.add(tree.size() - 1);
            sequencesPerStep.add(step.sequences());
            passShareNanos += step.passNanos() / step.sequences();
            queueNanos += step.queueNanos();
            if (lastPass >= 0) {
                missedPasses += (int) (step.pass() - lastPass - 1);
            }
            lastPass = step.pass();
            int drafted = produced - 1;
            if (sizer != null) {
                if (step.sequences() == 1) {
                    cost.observe(tree.size(), cached, step.stepNanos());
                } else {
                    // A batched pass's time is shared with the other trees: it prices batched passes, not this tree.
                    cost.observeShared(step.sequences(), step.nodes(), cached, step.passNanos());
                }
                drafted = sizer.learn(stepTokens, produced);
            }
            int before = length;
            FinishReason finish = null;
            for (int i = 0; i < produced; i++) {
                int token = stepTokens[i];
                if (contains(eos, token)) {
                    finish = FinishReason.EOS;
                    break;
                }
                if (contains(stopTokens, token)) {
                    finish = FinishReason.STOP_TOKEN;
                    break;
                }
                context[length++] = token;
                if (stepLogprobs != null) {
                    logprobs.add(stepLogprobs[i]);
                }
                if (length - promptLength == config.maxNewTokens()) {
                    finish = FinishReason.LENGTH;
                    break;
                }
            }
            int appended = length - before;
            if (appended > 0) {
                learnFrom = before;
                learnDrafted = Math.min(appended, drafted);
            }
            if (finish != null) {
                return ended(finish);
            }
        }
    }

    /** The last step's catching up, done now that no pass follows; a stop string in its text ends it first. */
    private FinishReason ended(FinishReason finish) {
        catchUp();
        sendText();
        return stopped ? FinishReason.STOP_STRING : finish;
    }

    /**
     * Decodes the tokens appended since the last catch-up into text, checking each against the stop strings (a
     * match cuts the output after the token that completed it), and lets the drafter learn from them. Not the
     * listener's part: it runs while its generation leads a pass ({@link StepScheduler#step}), and a listener may
     * block.
     */
    private void catchUp() {
        while (emitted < length && !stopped) {
            int token = context[emitted++];
            if (decoder != null) {
                text(stops.push(decoder.push(token)));
                if (stops.stopped()) {
                    stopped = true;
                    logprobs.subList(Math.min(logprobs.size(), emitted - promptLength), logprobs.size()).clear();
                    length = emitted;
                }
            }
        }
        if (learnFrom >= 0 && drafter != null && length > learnFrom) {
            int appended = length - learnFrom;
            drafter.onAccepted(context, length, appended, Math.min(appended, learnDrafted));
        }
        learnFrom = -1;
    }

    /**
     * Grows the tree for this step; leaves only the root where drafting cannot pay off: no room, no tokens left,
     * or (cost-aware) no candidate worth its verification time.
     */
    private void draft(ModelSession session) {
        tree.reset(context[length - 1]);
        if (drafter == null) {
            return;
        }
        DraftTree target = sizer != null ? sizer.candidates() : tree;
        target.reset(context[length - 1]);
        int remaining = config.maxNewTokens() - (length - promptLength);
        int nodes = Math.min(Math.min(budget, scheduler.draftNodeShare()), capacity - session.cachedLength() - 1);
        if (sizer != null) {
            nodes = sizer.draftNodes(nodes);
        }
        int depth = Math.min(config.maxDraftDepth(), remaining - 1);
        long spent = 0;
        if (nodes > 0 && depth > 0) {
            long t0 = System.nanoTime();
            drafter.draft(context, length, nodes, depth, target);
            spent = System.nanoTime() - t0;
            draftNanos += spent;
        }
        if (sizer != null) {
            StepScheduler.Pass pass = scheduler.lastPass();
            double predicted = sizer.choose(tree, session.cachedLength(), spent, pass);
            int largest = Math.max(budget + 1, scheduler.maxNodes());
            if (!cost.covers(Math.min(pass.with(tree.size()), largest))) {
                // A tree, or a shared pass, past the sizes timed so far was priced by extrapolation: time the rest
                // of the budget, or shared passes up to the next power of two, now (once per model and size), and
                // choose on measured prices.
                int upTo = pass.trees() <= 1 ? budget + 1
                        : Math.min(largest, Math.max(budget + 1, Integer.highestOneBit(pass.with(budget + 1)) * 2));
                cost.ensureMeasured(model, upTo, deviceLock);
                predicted = sizer.choose(tree, session.cachedLength(), spent, pass);
            }
            predictedPerStep.add(predicted);
        }
    }

    private void finishText() {
        if (decoder == null) {
            return;
        }
        text(stops.push(decoder.flush()));
        text(stops.flush());
        sendText();
    }

    private void text(String piece) {
        text.append(piece);
    }

    /** Hands the listener the text decoded since the last call. */
    private void sendText() {
        if (text.length() > sent) {
            String piece = text.substring(sent);
            sent = text.length();
            if (listener != null) {
                listener.onText(piece);
            }
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }
}
