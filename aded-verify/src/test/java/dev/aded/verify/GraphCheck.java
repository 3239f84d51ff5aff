package dev.aded.verify;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.aded.core.DraftTree;
import dev.aded.core.TreeLogits;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * GPU check of the CUDA-graph path against the eager path, run on a machine with a GPU and the native helper
 * (aded-examples/gpu/run-on-device.sh graphs; CI has no GPU). Two sessions over one model, one replaying graphs and
 * one issuing every operation, get the same prompts, trees and commits:
 * <ul>
 *   <li>prefills of several lengths (chunk edges included), then a growing context through every key-length bucket;
 *   <li>single tokens, chains and random trees whose sizes straddle the node buckets (1 … 256);
 *   <li>commits of the argmax path (compaction), so both caches must stay equal for later steps to agree.
 * </ul>
 * Logits must agree within the tolerance of the type (f16: a few ulps of logits near 10, the two paths' GEMMs
 * running different shapes and so summing in different orders); every node's argmax must agree, or differ only
 * where the eager pass's top two logits lie within that tolerance, each such tie printed with its gap in ulps. Then 10,000 replays of one bucket must leave device memory where it was.
 * Prints a line per check and exits 1 on a failure.
 *
 * <pre>java -cp ... dev.aded.verify.GraphCheck MODEL_DIR [f16|f32]</pre>
 */
public final class GraphCheck {
    private static final int[] SIZES = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 65, 100, 128, 129, 200, 256};
    private static int failures;

    private GraphCheck() {}

    public static void main(String[] args) {
        Path dir = Path.of(args.length > 0 ? args[0] : "aded-examples/models/code-15m");
        DataType dtype = args.length > 1 && args[1].equals("f32") ? DataType.FLOAT32 : DataType.FLOAT16;
        try (LlamaModel model = LlamaModel.load(dir, Device.gpu(), dtype)) {
            GraphPool pool = CudaGraphs.forDevice(model.device).map(c -> new GraphPool(model, c)).orElse(null);
            if (pool == null) {
                System.out.println("FAIL no CUDA-graph helper: nothing to check");
                System.exit(1);
            }
            float tol = dtype == DataType.FLOAT16 ? 0.08f : 2e-3f;
            for (int prefill : new int[] {1, 37, 255, 256, 257, 600}) {
                compare(model, pool, prefill, tol, new Random(prefill));
            }
            flatMemory(model, pool);
            System.out.println(pool.summary());
            pool.close();
        }
        System.out.println(failures == 0 ? "PASS all graph checks" : "FAIL " + failures + " checks");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static void compare(LlamaModel model, GraphPool pool, int prefill, float tol, Random random) {
        int steps = 40;
        // Each step keeps a token or two (random drafts), and a tree of 256 must still fit.
        int capacity = Math.min(prefill + 2 * steps + 300, model.maxContext());
        int[] prompt = random.ints(prefill, 3, model.vocabSize()).toArray();
        float[] a = new float[model.vocabSize()];
        float[] b = new float[model.vocabSize()];
        int ties = 0;
        float tieUlps = 0;
        int nodes = 0;
        float worst = 0;
        try (LlamaSession graphs = new LlamaSession(model, capacity, pool);
                LlamaSession eager = new LlamaSession(model, capacity, null)) {
            graphs.prefill(prompt, 0, prefill - 1);
            eager.prefill(prompt, 0, prefill - 1);
            int last = prompt[prefill - 1];
            for (int step = 0; step < steps; step++) {
                int size = SIZES[step % SIZES.length];
                if (graphs.cachedLength() + size >= capacity) {
                    break;
                }
                DraftTree tree = tree(last, size, step % 3 == 0, model.vocabSize(), random);
                TreeLogits g = graphs.forward(tree);
                TreeLogits e = eager.forward(tree);
                for (int node = 0; node < size; node++) {
                    g.logits(node, a);
                    e.logits(node, b);
                    for (int i = 0; i < a.length; i++) {
                        worst = Math.max(worst, Math.abs(a[i] - b[i]));
                    }
                    if (g.argmax(node) != e.argmax(node)) {
                        float gap = b[e.argmax(node)] - b[g.argmax(node)];
                        float ulps = gap / model.ulp(b[e.argmax(node)]);
                        if (gap > tol) {
                            fail("prefill %d step %d node %d: argmax %d vs eager %d, gap %.4f (%.1f ulps)", prefill,
                                    step, node, g.argmax(node), e.argmax(node), gap, ulps);
                        }
                        tieUlps = Math.max(tieUlps, ulps);
                        ties++;
                    }
                    nodes++;
                }
                int[] path = new int[tree.maxDepth() + 1];
                int count = 1;
                int node = 0;
                for (int child = tree.child(node, e.argmax(node)); child >= 0;
                        child = tree.child(node, e.argmax(node))) {
                    path[count++] = child;
                    node = child;
                }
                last = e.argmax(node);
                graphs.commit(path, count);
                eager.commit(path, count);
            }
            report(worst <= tol, "prefill %d, %d nodes up to %d cached: max |logit diff| %.4f (tol %.3f), %d"
                    + " argmax ties (widest top-2 gap %.1f ulps)", prefill, nodes, graphs.cachedLength(), worst, tol,
                    ties, tieUlps);
        }
    }

    /** A chain, or a random tree, of {@code size} nodes under {@code root}. */
    /** A chain, or a tree of random shape, of {@code size} nodes of random tokens below {@code root}. */
    static DraftTree tree(int root, int size, boolean chain, int vocab, Random random) {
        DraftTree tree = new DraftTree(size);
        tree.reset(root);
        while (tree.size() < size) {
            int parent = chain ? tree.size() - 1 : random.nextInt(tree.size());
            int token = 3 + random.nextInt(vocab - 3);
            if (tree.child(parent, token) < 0) {
                tree.add(parent, token, 0.5f);
            }
        }
        return tree;
    }

    private static void flatMemory(LlamaModel model, GraphPool pool) {
        int[] prompt = new Random(9).ints(300, 3, model.vocabSize()).toArray();
        try (LlamaSession s = new LlamaSession(model, 400, pool)) {
            s.prefill(prompt, 0, prompt.length - 1);
            DraftTree tree = tree(prompt[prompt.length - 1], 16, false, model.vocabSize(), new Random(1));
            for (int i = 0; i < 100; i++) {
                s.forward(tree);
                s.commit(new int[] {0}, 0);
            }
            long before = pool.cuda.reservedBytes();
            long t0 = System.nanoTime();
            for (int i = 0; i < 10_000; i++) {
                s.forward(tree);
                s.commit(new int[] {0}, 0);
            }
            double ms = (System.nanoTime() - t0) / 1e6 / 10_000;
            long after = pool.cuda.reservedBytes();
            report(after == before, "10,000 replays of a 16-node tree: device memory %d -> %d bytes reserved,"
                    + " %.3f ms a step", before, after, ms);
        }
    }

    private static void report(boolean ok, String format, Object... args) {
        if (!ok) {
            failures++;
        }
        System.out.println((ok ? "ok   " : "FAIL ") + String.format(Locale.ROOT, format, args));
    }

    private static void fail(String format, Object... args) {
        report(false, format, args);
    }
}
