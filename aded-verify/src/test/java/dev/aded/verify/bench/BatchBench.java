package dev.aded.verify.bench;

import ai.djl.Device;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import dev.aded.verify.DeviceProfile;
import dev.aded.verify.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The time of one batched forward pass by sequences per pass (B) and tree nodes per sequence, each sequence after
 * {@code context} tokens of its own: what a step of B concurrent generations costs against a step of one. Prints
 * the median pass time, and the tokens per second the batch would yield at one token per sequence per pass.
 *
 * <pre>
 * java -cp ... dev.aded.verify.bench.BatchBench [MODEL_DIR|random7b] [cpu|gpu] [context] [batches,...] [nodes,...]
 * </pre>
 *
 * <p>With {@code -Daded.profile=DIR} on a GPU, each shape then runs {@value #PROFILED} passes more under the
 * device profiler ({@link DeviceProfile}), written to {@code DIR/batch-<B>x<nodes>.p<passes>.json}:
 * {@code aded-examples/gpu/trace-summary.py} splits them by kernel.
 */
public final class BatchBench {
    private BatchBench() {}

    /** Passes a profile of one shape records. */
    static final int PROFILED = 20;

    public static void main(String[] args) throws IOException {
        String which = args.length > 0 ? args[0] : "../aded-examples/models/code-15m";
        Device device = args.length > 1 && args[1].equals("gpu") ? Device.gpu() : Device.cpu();
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 512;
        int[] batches = ints(args.length > 3 ? args[3] : "1,4,16,64");
        int[] nodes = ints(args.length > 4 ? args[4] : "1,16");
        int passes = device.isGpu() ? 60 : 10;
        String profiles = System.getProperty("aded.profile");
        if (profiles != null) {
            Files.createDirectories(Path.of(profiles)); // the profiler writes nothing into a folder that is not there
        }
        int maxBatch = Arrays.stream(batches).max().orElse(1);
        int maxNodes = Arrays.stream(nodes).max().orElse(1);
        try (LlamaModel model = which.equals("random7b") ? LlamaModel.random(ForwardBench.llama7b(), device, 1)
                : LlamaModel.load(Path.of(which), device)) {
            int slotTokens = context + passes + 5 + maxNodes + 1;
            model.batching(maxBatch, slotTokens);
            System.out.printf(Locale.ROOT, "model %s on %s, context %d, %d slots of %d tokens%n", model.name(),
                    model.device(), context, maxBatch, slotTokens);
            int[] prompt = ForwardBench.filler(context, model.vocabSize());
            ModelSession[] sessions = new ModelSession[maxBatch];
            try {
                for (int s = 0; s < maxBatch; s++) {
                    sessions[s] = model.newSession(slotTokens);
                }
                double single = 0;
                for (int n : nodes) {
                    for (int b : batches) {
                        double ms = median(model, sessions, b, n, prompt, passes, null);
                        if (profiles != null) {
                            median(model, sessions, b, n, prompt, PROFILED, Path.of(profiles,
                                    String.format(Locale.ROOT, "batch-%dx%d.p%d.json", b, n, PROFILED)));
                        }
                        if (b == 1) {
                            single = ms;
                        }
                        System.out.printf(Locale.ROOT,
                                "batch %3d x %3d nodes: median %.3f ms per pass (%.2fx one sequence's),"
                                        + " %.0f sequence-steps/s%n", b, n, ms, single > 0 ? ms / single : 1.0,
                                b * 1000 / ms);
                    }
                }
                System.out.println("steps: " + model.stepMode());
            } finally {
                for (ModelSession s : sessions) {
                    if (s != null) {
                        s.close();
                    }
                }
            }
        }
    }

    /**
     * Median pass over b sessions' chains of n nodes, each session refilled to the context first; the passes after
     * the warm-up profiled into {@code profile} unless it is null.
     */
    private static double median(LlamaModel model, ModelSession[] all, int b, int n, int[] prompt, int passes,
            Path profile) {
        ModelSession[] sessions = Arrays.copyOf(all, b);
        DraftTree[] trees = new DraftTree[b];
        int[] last = new int[b];
        for (int s = 0; s < b; s++) {
            sessions[s].truncate(0);
            sessions[s].prefill(prompt, 0, prompt.length - 1);
            last[s] = prompt[prompt.length - 1];
            trees[s] = new DraftTree(n);
        }
        double[] ms = new double[passes];
        DeviceProfile recording = null;
        for (int i = -5; i < passes; i++) {
            if (i == 0 && profile != null) {
                recording = DeviceProfile.start(model, profile);
            }
            for (int s = 0; s < b; s++) {
                trees[s].reset(last[s]);
                int node = 0;
                for (int j = 1; j < n; j++) {
                    node = trees[s].add(node, 3 + j, 1f);
                }
            }
            long t0 = System.nanoTime();
            TreeLogits[] out = model.forwardAll(sessions, trees, b);
            for (int s = 0; s < b; s++) {
                last[s] = out[s].argmax(0);
                sessions[s].commit(new int[] {0}, 1);
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        if (recording != null) {
            recording.close();
        }
        Arrays.sort(ms);
        return ms[passes / 2];
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
