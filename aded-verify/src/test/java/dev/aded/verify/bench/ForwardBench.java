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
 * passes after a warm-up. Prints one line per tree size.
 *
 * <pre>
 * java -cp ... dev.aded.verify.bench.ForwardBench [MODEL_DIR|random7b] [cpu|gpu] [context] [sizes,...]
 * </pre>
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
                : LlamaModel.load(Path.of(which), device)) {
            System.out.printf(Locale.ROOT, "model %s on %s, context %d%n", model.name(), model.device(), context);
            int[] prompt = new int[context];
            for (int i = 0; i < context; i++) {
                prompt[i] = 3 + (i * 7919) % (model.vocabSize() - 3);
            }
            for (int n : sizes) {
                double[] ms = measure(model, prompt, n, device.isGpu() ? 50 : 100);
                System.out.printf(Locale.ROOT, "tree %4d nodes: median %.3f ms, p10 %.3f, p90 %.3f%n", n,
                        ms[ms.length / 2], ms[ms.length / 10], ms[ms.length * 9 / 10]);
            }
        }
    }

    /** Sorted per-pass times: each pass verifies a tree (a chain, like a draft) and commits its root. */
    private static double[] measure(LlamaModel model, int[] prompt, int nodes, int passes) {
        DraftTree tree = new DraftTree(nodes);
        double[] ms = new double[passes];
        try (ModelSession s = model.newSession(prompt.length + passes + nodes + 10)) {
            s.prefill(prompt, 0, prompt.length - 1);
            int last = prompt[prompt.length - 1];
            for (int i = -5; i < passes; i++) {
                tree.reset(last);
                int node = 0;
                for (int k = 1; k < nodes; k++) {
                    node = tree.add(node, 3 + k, 1f);
                }
                long t0 = System.nanoTime();
                last = s.forward(tree).argmax(0);
                s.commit(new int[] {0}, 1);
                if (i >= 0) {
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        Arrays.sort(ms);
        return ms;
    }

    /** Llama-2-7B's shape: hidden 4096, 32 layers, 32 heads, MLP 11008, vocab 32000. */
    static LlamaConfig llama7b() {
        return new LlamaConfig("llama", 32000, 4096, 11008, 32, 32, 32, 128, 1e-5, 4096, false, false,
                new LlamaConfig.RopeScaling(10000, "default", 1, 0, 0, 0), new int[] {2});
    }
}
