package dev.aded.verify.bench;

import ai.djl.Device;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.verify.LlamaConfig;
import dev.aded.verify.LlamaModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Forward-pass latency of a model for trees of 1, 16, 64 (and 128) nodes over a given context, median of many
 * passes after a warm-up, the sizes interleaved. Prints one line per tree size.
 *
 * <pre>
 * java -cp ... dev.aded.verify.bench.ForwardBench [MODEL_DIR|random7b|tiny] [cpu|gpu] [context] [sizes,...]
 * </pre>
 *
 * <p>{@code tiny} has code-15m's layers and heads at head width 8: its arithmetic is negligible, so its pass time is
 * the host's cost of issuing the pass, operation by operation.
 */
public final class ForwardBench {
    private ForwardBench() {}

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "../aded-examples/models/code-15m";
        Device device = args.length > 1 && args[1].equals("gpu") ? Device.gpu() : Device.cpu();
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 512;
        int[] sizes = args.length > 3 ? Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray()
                : device.isGpu() ? new int[] {1, 16, 64, 128} : new int[] {1, 16, 64};
        try (LlamaModel model = which.equals("random7b") ? LlamaModel.random(llama7b(), device, 1)
                : which.equals("tiny") ? LlamaModel.random(tiny(), device, 1)
                : LlamaModel.load(Path.of(which), device)) {
            System.out.printf(Locale.ROOT, "model %s on %s, context %d%n", model.name(), model.device(), context);
            int[] prompt = filler(context, model.vocabSize());
            double[][] ms = measure(model, prompt, sizes, device.isGpu() ? 100 : 50);
            for (int k = 0; k < sizes.length; k++) {
                double[] t = ms[k];
                System.out.printf(Locale.ROOT, "tree %4d nodes: median %.3f ms, p10 %.3f, p90 %.3f%n", sizes[k],
                        t[t.length / 2], t[t.length / 10], t[t.length * 9 / 10]);
            }
        }
    }

    /**
     * Sorted per-pass times for each tree size: each pass verifies a tree (a chain, like a draft) and commits its
     * root. The sizes take turns pass by pass, each in its own session, so that a host slowing down or speeding up
     * weighs on all sizes alike.
     */
    private static double[][] measure(LlamaModel model, int[] prompt, int[] sizes, int passes) {
        double[][] ms = new double[sizes.length][passes];
        ModelSession[] sessions = new ModelSession[sizes.length];
        int[] last = new int[sizes.length];
        DraftTree[] trees = new DraftTree[sizes.length];
        try {
            for (int k = 0; k < sizes.length; k++) {
                sessions[k] = model.newSession(prompt.length + passes + sizes[k] + 10);
                sessions[k].prefill(prompt, 0, prompt.length - 1);
                last[k] = prompt[prompt.length - 1];
                trees[k] = new DraftTree(sizes[k]);
            }
            for (int i = -5; i < passes; i++) {
                for (int k = 0; k < sizes.length; k++) {
                    DraftTree tree = trees[k];
                    tree.reset(last[k]);
                    int node = 0;
                    for (int j = 1; j < sizes[k]; j++) {
                        node = tree.add(node, 3 + j, 1f);
                    }
                    long t0 = System.nanoTime();
                    last[k] = sessions[k].forward(tree).argmax(0);
                    sessions[k].commit(new int[] {0}, 1);
                    if (i >= 0) {
                        ms[k][i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
        } finally {
            for (ModelSession s : sessions) {
                if (s != null) {
                    s.close();
                }
            }
        }
        for (double[] t : ms) {
            Arrays.sort(t);
        }
        return ms;
    }

    /** {@code n} tokens spread over the vocabulary (past the first three, the special tokens): a context to attend. */
    static int[] filler(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + (i * 7919) % (vocab - 3);
        }
        return ids;
    }

    /** code-15m's 8 layers and 6/2 heads at head width 8 (hidden 48, MLP 128, vocab 512). */
    static LlamaConfig tiny() {
        return new LlamaConfig("llama", 512, 48, 128, 8, 6, 2, 8, 1e-5, 2048, false, false,
                new LlamaConfig.RopeScaling(10000, "default", 1, 0, 0, 0), new int[] {2});
    }

    /** Llama-2-7B's shape: hidden 4096, 32 layers, 32 heads, MLP 11008, vocab 32000. */
    static LlamaConfig llama7b() {
        return new LlamaConfig("llama", 32000, 4096, 11008, 32, 32, 32, 128, 1e-5, 4096, false, false,
                new LlamaConfig.RopeScaling(10000, "default", 1, 0, 0, 0), new int[] {2});
    }
}
