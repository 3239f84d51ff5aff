package dev.aded.verify;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's KV caches that carry captured CUDA graphs. A graph is bound to the addresses it was captured with, so
 * a session borrows a cache and its graphs and gives them back when it closes; the next session replays them
 * instead of capturing again. At most {@link #MAX_CACHES} such caches exist (property
 * {@code aded.cudaGraphs.caches}); sessions beyond them, and every session once a capture has failed, run
 * eagerly on caches of their own.
 */
final class GraphPool implements AutoCloseable {
    static final int MAX_CACHES = Integer.getInteger("aded.cudaGraphs.caches", 4);
    private static final Logger LOG = LoggerFactory.getLogger(GraphPool.class);

    final CudaGraphs cuda;
    private final LlamaModel model;
    private final List<GraphedSteps> idle = new ArrayList<>();
    private final List<GraphedSteps> all = new ArrayList<>();
    private CudaGraphs.Graph shared;
    private int graphs;
    private long bytes;
    private long captureNanos;
    private boolean failed;

    GraphPool(LlamaModel model, CudaGraphs cuda) {
        this.model = model;
        this.cuda = cuda;
    }

    /**
     * A cache of at least {@code capacity + 1} rows with its graphs (the extra row takes padding nodes' writes),
     * or null when the session should run eagerly.
     */
    synchronized GraphedSteps borrow(int capacity) {
        if (failed) {
            return null;
        }
        int rows = GraphedSteps.ceilPow2(capacity + 1);
        GraphedSteps best = null;
        for (GraphedSteps g : idle) {
            if (g.kv.rows >= rows && (best == null || g.kv.rows < best.kv.rows)) {
                best = g;
            }
        }
        if (best != null) {
            idle.remove(best);
            return best;
        }
        if (all.size() >= MAX_CACHES) {
            return null;
        }
        GraphedSteps created = new GraphedSteps(model, this, rows);
        all.add(created);
        return created;
    }

    /**
     * Captures the graphs of steps of up to {@code maxNodes} nodes (see {@link GraphedSteps#captureAll}) on every
     * idle cache, after making one for sessions of {@code capacity} tokens when none fits: a session borrows the
     * smallest cache that fits it, which may be one made before. Nothing once a capture has failed.
     */
    void prepare(int capacity, int maxNodes) {
        GraphedSteps made = borrow(capacity);
        if (made == null) {
            return;
        }
        giveBack(made);
        List<GraphedSteps> caches;
        synchronized (this) {
            caches = new ArrayList<>(idle);
            idle.removeAll(caches);
        }
        try {
            for (GraphedSteps steps : caches) {
                steps.captureAll(maxNodes);
            }
        } catch (CudaGraphs.GraphException | ai.djl.engine.EngineException e) {
            failed(e);
        } finally {
            caches.forEach(this::giveBack);
        }
    }

    synchronized void giveBack(GraphedSteps steps) {
        idle.add(steps);
    }

    /** The graph whose memory pool every later capture shares. */
    synchronized CudaGraphs.Graph shared() {
        return shared;
    }

    /** A new graph, the device memory it reserved and the wall time its capture took, first replay included. */
    synchronized void captured(CudaGraphs.Graph graph, long reservedBytes, long nanos) {
        if (shared == null) {
            shared = graph;
        }
        graphs++;
        bytes += Math.max(0, reservedBytes);
        captureNanos += nanos;
    }

    /** Wall time spent capturing so far. */
    synchronized long captureNanos() {
        return captureNanos;
    }

    /** Whether graphs may still be captured and replayed: false once a capture has failed. */
    synchronized boolean usable() {
        return !failed;
    }

    /** After a failed capture: no more graphs for this model; the caller goes on eagerly. */
    synchronized void failed(RuntimeException e) {
        if (!failed) {
            failed = true;
            LOG.warn("CUDA graph capture failed, the verifier runs eagerly from now on: {}", e.getMessage());
        }
    }

    /** Graphs captured, device memory they took and caches that carry them. */
    synchronized String summary() {
        return String.format(Locale.ROOT, "%d CUDA graphs over %d KV caches, %s of device memory", graphs,
                all.size(), DeviceMemory.bytes(bytes));
    }

    @Override
    public synchronized void close() {
        if (graphs > 0) {
            LOG.info("closing {}", summary());
        }
        for (GraphedSteps g : all) {
            g.close();
        }
        all.clear();
        idle.clear();
    }
}
