package dev.aded.verify;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.aded.core.DraftTree;
import dev.aded.core.ModelSession;
import dev.aded.core.TreeLogits;
import java.nio.file.Path;
import java.util.Random;

/**
 * On a GPU: batched passes (CUDA graphs per bucket) against each session's own single-sequence pass, over growing
 * contexts and random trees, with commits; every node's logits within the tolerance and its argmax the same or a
 * rounding tie. Exits non-zero on a failure. 40 sessions, so that passes over 32 sequences or more, whose attention
 * is one fused kernel ({@link LlamaModel#FUSED_MIN_SEQUENCES}), are checked beside those of fewer.
 *
 * <pre>java -cp ... dev.aded.verify.BatchCheck MODEL_DIR [f16|f32]</pre>
 */
public final class BatchCheck {
    private static final int SESSIONS = 40;
    private static final int ROUNDS = 40;

    private BatchCheck() {}

    public static void main(String[] args) {
        Path dir = Path.of(args.length > 0 ? args[0] : "aded-examples/models/code-15m");
        DataType dtype = args.length > 1 && args[1].equals("f32") ? DataType.FLOAT32 : DataType.FLOAT16;
        float tol = dtype == DataType.FLOAT16 ? 0.08f : 2e-3f;
        int failures = 0;
        int nodesChecked = 0;
        int flips = 0;
        float worst = 0;
        try (LlamaModel single = LlamaModel.load(dir, Device.gpu(), dtype);
                LlamaModel batching = LlamaModel.load(dir, Device.gpu(), dtype)) {
            batching.batching(SESSIONS, 1024);
            Random random = new Random(7);
            ModelSession[] batched = new ModelSession[SESSIONS];
            ModelSession[] alone = new ModelSession[SESSIONS];
            DraftTree[] trees = new DraftTree[SESSIONS];
            int[] last = new int[SESSIONS];
            float[] a = new float[single.vocabSize()];
            float[] b = new float[single.vocabSize()];
            for (int s = 0; s < SESSIONS; s++) {
                batched[s] = batching.newSession(1024);
                alone[s] = single.newSession(1024);
                int[] prompt = random.ints(1 + random.nextInt(600), 3, single.vocabSize()).toArray();
                batched[s].prefill(prompt, 0, prompt.length - 1);
                alone[s].prefill(prompt, 0, prompt.length - 1);
                last[s] = prompt[prompt.length - 1];
            }
            for (int round = 0; round < ROUNDS; round++) {
                // A varying number of sessions per pass, so that several batch buckets are captured and replayed.
                int count = 1 + random.nextInt(SESSIONS);
                for (int s = 0; s < count; s++) {
                    trees[s] = GraphCheck.tree(last[s], 1 + random.nextInt(round % 3 == 0 ? 64 : 8), false,
                            single.vocabSize(), random);
                }
                TreeLogits[] out = batching.forwardAll(batched, trees, count);
                for (int s = 0; s < count; s++) {
                    TreeLogits own = alone[s].forward(trees[s]);
                    for (int node = 0; node < trees[s].size(); node++) {
                        own.logits(node, a);
                        out[s].logits(node, b);
                        float diff = 0;
                        for (int v = 0; v < a.length; v++) {
                            diff = Math.max(diff, Math.abs(a[v] - b[v]));
                        }
                        worst = Math.max(worst, diff);
                        nodesChecked++;
                        int x = own.argmax(node);
                        int y = out[s].argmax(node);
                        if (x != y) {
                            flips++;
                            if (Math.abs(a[x] - a[y]) > 4 * single.ulp(a[x])) {
                                failures++;
                                System.out.printf("FAIL round %d session %d node %d: argmax %d vs %d (gap %.4f)%n",
                                        round, s, node, x, y, a[x] - a[y]);
                            }
                        }
                        if (diff > tol) {
                            failures++;
                            System.out.printf("FAIL round %d session %d node %d: max |diff| %.4f%n", round, s, node,
                                    diff);
                        }
                    }
                    last[s] = own.argmax(0);
                    int[] path = {0};
                    batched[s].commit(path, 1);
                    alone[s].commit(path, 1);
                }
            }
            System.out.printf("%s: %d nodes in %d rounds, max |diff| %.4f, %d argmax flips (rounding ties)%n", dtype,
                    nodesChecked, ROUNDS, worst, flips);
            System.out.println("steps: " + batching.stepMode());
            for (int s = 0; s < SESSIONS; s++) {
                batched[s].close();
                alone[s].close();
            }
        }
        System.out.println(failures == 0 ? "PASS batch checks" : "FAIL " + failures + " batch checks");
        System.exit(failures == 0 ? 0 : 1);
    }
}
