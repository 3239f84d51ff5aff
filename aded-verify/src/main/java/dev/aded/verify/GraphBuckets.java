package dev.aded.verify;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;

/**
 * CUDA graphs of one step function over one KV cache, one graph per input shape (bucket). A bucket is captured the
 * first time it is needed, after one eager warm-up on the capture stream; later steps copy their input into the
 * bucket's static input tensor, replay, and copy the argmax of each node back; the logits stay in the bucket's
 * output tensor for sampling, valid until the bucket's next replay. All graphs of a model share one memory pool.
 */
final class GraphBuckets implements AutoCloseable {
    /** The pass as a graph holds it: from the static input tensor to its logits and their argmax. */
    interface Step {
        PtNDArray[] run(PtNDArray input, NDManager scope);
    }

    private final GraphPool pool;
    private final NDManager manager;
    private final Long2ObjectOpenHashMap<Bucket> buckets = new Long2ObjectOpenHashMap<>();
    private long[] argmax = new long[0];

    /** @param owner the manager of the cache the graphs write to: they go when it closes */
    GraphBuckets(GraphPool pool, NDManager owner) {
        this.pool = pool;
        this.manager = owner;
    }

    int size() {
        return buckets.size();
    }

    /** Whether bucket {@code key} is captured: its next run replays, where a capture runs the step twice. */
    boolean has(long key) {
        return buckets.containsKey(key);
    }

    /**
     * Runs bucket {@code key} (capturing {@code step} first when new) on {@code input[0, size)} and returns it, its
     * outputs being computed: the device works on while the host goes on until {@link #argmax} waits for them.
     */
    Bucket run(long key, float[] input, int size, Step step) {
        Bucket b = buckets.get(key);
        if (b == null) {
            b = capture(input, size, step);
            buckets.put(key, b);
        } else {
            pool.cuda.copyIn(b.input, input, size);
            b.graph.replay();
        }
        return b;
    }

    /** Waits for bucket {@code b}'s last run and writes the argmax of its output rows {@code [0, rows)} into out. */
    void argmax(Bucket b, int[] out, int rows) {
        if (argmax.length < rows) {
            argmax = new long[Math.max(rows, 2 * argmax.length)];
        }
        pool.cuda.copyOut(b.argmax, argmax, rows);
        for (int i = 0; i < rows; i++) {
            out[i] = (int) argmax[i];
        }
    }

    private Bucket capture(float[] input, int size, Step step) {
        long start = System.nanoTime();
        NDManager m = manager.newSubManager();
        try {
            PtNDArray in = (PtNDArray) m.zeros(new Shape(size), DataType.FLOAT32);
            pool.cuda.copyIn(in, input, size);
            PtNDArray[] outputs = new PtNDArray[2];
            long[] before = new long[1];
            CudaGraphs.Graph[] graph = new CudaGraphs.Graph[1];
            pool.cuda.onSideStream(() -> {
                // Warm-up on the capture stream (cuBLAS sets up a workspace per stream), then the capture,
                // which queues nothing: the replay below computes this step.
                try (NDManager warm = m.newSubManager()) {
                    step.run(in, warm);
                }
                before[0] = pool.cuda.reservedBytes();
                NDManager captured = m.newSubManager();
                try {
                    graph[0] = pool.cuda.capture(pool.shared(), () -> {
                        PtNDArray[] r = step.run(in, captured);
                        outputs[0] = r[0];
                        outputs[1] = r[1];
                    });
                    outputs[0].attach(m);
                    outputs[1].attach(m);
                } finally {
                    // Temporaries go back to the graph's pool, which keeps their memory for the replays.
                    captured.close();
                }
            });
            Bucket b = new Bucket(in, graph[0], outputs[0], outputs[1]);
            b.graph.replay();
            pool.captured(graph[0], pool.cuda.reservedBytes() - before[0], System.nanoTime() - start);
            return b;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    @Override
    public void close() {
        for (Bucket b : buckets.values()) {
            b.graph.close();
        }
        buckets.clear();
    }

    /** One captured shape: its static input, graph and outputs. */
    record Bucket(PtNDArray input, CudaGraphs.Graph graph, PtNDArray logits, PtNDArray argmax) {}
}
