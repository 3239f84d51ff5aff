package dev.aded.verify;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.util.Random;

/**
 * GPU check of the helper's tree-attention kernel against DJL's operators ({@link LlamaModel#groupedAttention}), on
 * random queries, keys, values and tree masks: code-15m's heads (2 kv heads of 64 dimensions, 3 query heads each) and
 * 7B-like ones (128 dimensions, no grouping); one sequence and batches; keys read in place from a cache of slots
 * (strided), by slot (in place among more slots, a table naming each sequence's) or gathered (contiguous); a mask per
 * sequence, one for all (also a transposed view), or none; key counts on and off the kernel's chunks; by slot, with
 * bounds (where each sequence's open keys and real tokens end, the tokens past them a tree's padding); in f16 both
 * layouts, block and warp (aded_tree_attention_warps.cu). The graph and batch checks compare the kernel with itself
 * (both their paths run it), so this is the check of what it computes. Rows whose every key is masked (padding) must
 * come out zeros. Run on a machine with a GPU and the helper (aded-examples/gpu/run-on-device.sh attention-check);
 * prints a line per case, exits 1 on a failure.
 *
 * <pre>java -cp ... dev.aded.verify.AttentionCheck [f16|f32]</pre>
 */
public final class AttentionCheck {
    /**
     * kv heads, group, head dim, sequences, tokens, keys, mask (0 none, 2 shared [t, L], which the operators that
     * check the kernel take for one sequence only, 3 per sequence [A, t, L], 4 shared as a transposed view), keys (0
     * gathered, 1 in place, 2 by slot: in place among more slots, with bounds).
     */
    private static final int[][] CASES = {
        {2, 3, 64, 1, 1, 1, 0, 1},
        {2, 3, 64, 1, 1, 300, 0, 1},
        {2, 3, 64, 1, 40, 600, 2, 1},
        {2, 3, 64, 16, 40, 700, 3, 1},
        {2, 3, 64, 65, 16, 512, 3, 1},
        {2, 3, 64, 3, 7, 129, 3, 0},
        {2, 3, 64, 5, 9, 257, 3, 0},
        {4, 1, 128, 1, 16, 600, 2, 1},
        {4, 1, 128, 17, 16, 1024, 3, 1},
        {4, 1, 128, 2, 3, 130, 3, 0},
        {4, 2, 128, 4, 1, 200, 3, 1},
        {2, 3, 64, 1, 32, 256, 4, 1},
        // 132 blocks of rows on a GPU of 132 multiprocessors, f32 chunks of 64 keys (as they were): 5 chunks in 4
        // parts would leave one part none (it read unset maxima, before the split gave each part keys).
        {2, 3, 64, 11, 32, 300, 3, 1},
        {2, 3, 64, 16, 40, 512, 3, 2},
        {4, 1, 128, 5, 16, 300, 3, 2},
        // 128-dimension heads with more than 16 rows a kv head
        {4, 1, 128, 3, 40, 300, 3, 2},
        {4, 2, 128, 2, 24, 520, 3, 1},
    };

    private AttentionCheck() {}

    public static void main(String[] args) {
        DataType dtype = args.length > 0 && args[0].equals("f32") ? DataType.FLOAT32 : DataType.FLOAT16;
        float tol = dtype == DataType.FLOAT16 ? 5e-3f : 1e-4f;
        int failures = 0;
        try (NDManager manager = NDManager.newBaseManager(Device.gpu(), "PyTorch")) {
            manager.zeros(new Shape(1)); // the helper loads after DJL's first GPU work
            if (CudaGraphs.forDevice(Device.gpu()).isEmpty()) {
                System.out.println("FAIL no CUDA helper: nothing to check");
                System.exit(1);
            }
            // f16 in both layouts (f32 has the block layout alone), each on the same random inputs.
            for (boolean warps : dtype == DataType.FLOAT16 ? new boolean[] {false, true} : new boolean[] {false}) {
                Random random = new Random(7);
                for (int[] c : CASES) {
                    try (NDManager scope = manager.newSubManager()) {
                        failures += check(scope, dtype, tol, c, random, warps) ? 0 : 1;
                    }
                }
            }
        }
        System.out.println(failures == 0 ? "PASS attention checks" : "FAIL " + failures + " attention checks");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static boolean check(NDManager m, DataType dtype, float tol, int[] c, Random random, boolean warps) {
        int kvH = c[0];
        int g = c[1];
        int hd = c[2];
        int a = c[3];
        int t = c[4];
        int keys = c[5];
        int maskKind = c[6];
        int way = c[7];
        int qH = kvH * g;
        int heads = qH + 2 * kvH;
        // Queries as a pass has them: the first qH heads of a [rows, q/k/v heads, D] projection, a strided view.
        // Queries scaled as the model's are (1/√D folded into the weights), so that scores have unit spread.
        PtNDArray qkv = create(m, random, (float) (1 / Math.sqrt(hd)), dtype, (long) a * t, heads, hd);
        PtNDArray queries = Torch.slice(qkv, 1, 0, qH);
        // What the kernel reads: the sequences' keys, or by slot all slots and each sequence's slot.
        PtNDArray all;
        int stored = way == 2 ? a + 5 : a;
        if (way == 0) {
            all = create(m, random, 1f, dtype, 2L * kvH, a, keys, hd);
        } else {
            int slotRows = keys + 37; // slots longer than the keys read, as a batch's are
            PtNDArray cache = create(m, random, 1f, dtype, 2L * kvH, (long) stored * slotRows, hd);
            all = Torch.slice(Torch.reshape(cache, new long[] {2L * kvH, stored, slotRows, hd}), 2, 0, keys);
        }
        PtNDArray table = null;
        PtNDArray past = all;
        if (way == 2) {
            java.util.List<Long> order = new java.util.ArrayList<>();
            for (long slot = 0; slot < stored; slot++) {
                order.add(slot);
            }
            java.util.Collections.shuffle(order, random);
            table = (PtNDArray) m.create(order.subList(0, a).stream().mapToLong(Long::longValue).toArray());
            past = Torch.select(all, new ai.djl.ndarray.index.NDIndex(":, {}", table), (PtNDManager) m);
        }
        PtNDArray k = Torch.slice(past, 0, 0, kvH);
        PtNDArray v = Torch.slice(past, 0, kvH, 2L * kvH);
        // By slot, all but the first sequence end their real tokens early, as the smaller trees of a pass do (so no
        // live row of theirs is the one that opens nothing).
        int masks = maskKind == 3 ? a : 1;
        int[] live = new int[masks];
        int[] open = new int[masks];
        int[] pasts = new int[masks];
        for (int s = 0; s < masks; s++) {
            live[s] = way == 2 && s > 0 ? t - 1 - random.nextInt(Math.max(1, t / 2)) : t;
        }
        PtNDArray mask = maskKind == 0 ? null : mask(m, random, dtype, live, open, pasts, keys, maskKind);
        PtNDArray bounds = null;
        if (way == 2) {
            long[] b = new long[3 * a];
            for (int s = 0; s < a; s++) {
                b[s] = open[s];
                b[a + s] = live[s];
                b[2 * a + s] = pasts[s];
            }
            bounds = (PtNDArray) m.create(b);
        }
        // The reference runs in f32 on the same values: DJL's operators in f16 round the scores to f16 (off by up to
        // 0.03 here), where the kernel keeps them in f32.
        PtNDArray expected = LlamaModel.groupedAttention(f32(queries), f32(k), f32(v), mask == null ? null : f32(mask),
                false, a, t, g, DataType.FLOAT32);
        float[] e = expected.toFloatArray();
        PtNDArray allKeys = Torch.slice(all, 0, 0, kvH);
        PtNDArray allValues = Torch.slice(all, 0, kvH, 2L * kvH);
        float[] x = f32(CudaGraphs.treeAttention(queries, allKeys, allValues, mask, table, bounds, warps))
                .toFloatArray();
        float[] ops = f32(LlamaModel.groupedAttention(queries, k, v, mask, false, a, t, g, dtype)).toFloatArray();
        float worst = 0;
        float opsWorst = 0;
        int padding = 0;
        boolean zeros = true;
        for (int i = 0; i < e.length; i++) {
            if (Float.isNaN(e[i])) {
                padding++; // a row with every key masked: the operators' softmax gives NaN, nothing reads it
                zeros &= x[i] == 0f;
            } else {
                worst = Math.max(worst, Math.abs(e[i] - x[i]));
                opsWorst = Math.max(opsWorst, Math.abs(e[i] - ops[i]));
            }
        }
        boolean ok = worst <= tol && zeros && e.length == x.length;
        System.out.printf("%s %s%s: kv heads %d x %d, D %d, %d sequences of %d rows, %d keys %s, mask %s: max |diff|"
                + " %.2e (tol %.0e; DJL's operators in this type %.2e)%s%n", ok ? "PASS" : "FAIL", dtype,
                warps ? " warps" : "", kvH, g, hd,
                a, t, keys, WAYS[way], MASKS[maskKind], worst, tol, opsWorst,
                padding > 0 ? ", " + padding / (hd * g) + " padding rows" + (zeros ? " zeros" : " NOT zeros") : "");
        return ok;
    }

    private static final String[] WAYS = {"gathered", "in place", "by slot"};
    private static final String[] MASKS = {"none", "", "[t, L]", "[A, t, L]", "[t, L] transposed view"};

    private static PtNDArray f32(PtNDArray x) {
        return (PtNDArray) x.toType(DataType.FLOAT32, true);
    }

    private static PtNDArray create(NDManager m, Random random, float scale, DataType dtype, long... shape) {
        Shape s = new Shape(shape);
        float[] values = new float[(int) s.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * scale;
        }
        return (PtNDArray) m.create(values, s).toType(dtype, false);
    }

    /**
     * A tree mask like a pass's: row r of sequence s opens the sequence's past (a random length) and a random
     * subset of the tree's columns after it, its own always; rows from {@code live[s]} on open nothing (a tree's
     * padding), and in a per-sequence mask whose rows are all live neither does the last sequence's last row. Each
     * sequence's open keys end before {@code open[s]}, and its past, open to each live row, before {@code past[s]},
     * which this sets.
     */
    private static PtNDArray mask(NDManager m, Random random, DataType dtype, int[] live, int[] open, int[] pasts,
            int keys, int kind) {
        int sequences = live.length;
        int t = live[0];
        float[] values = new float[sequences * t * keys];
        java.util.Arrays.fill(values, Float.NEGATIVE_INFINITY);
        for (int s = 0; s < sequences; s++) {
            int past = random.nextInt(Math.max(1, keys - t + 1));
            open[s] = Math.min(keys, past + live[s]);
            pasts[s] = past;
            for (int r = 0; r < live[s]; r++) {
                int at = (s * t + r) * keys;
                if (kind == 3 && sequences > 1 && s == sequences - 1 && r == t - 1 && live[s] == t) {
                    continue;
                }
                for (int j = 0; j < past; j++) {
                    values[at + j] = 0f;
                }
                for (int j = past; j < Math.min(keys, past + r); j++) {
                    values[at + j] = random.nextBoolean() ? 0f : Float.NEGATIVE_INFINITY;
                }
                values[at + Math.min(keys - 1, past + r)] = 0f;
            }
        }
        if (kind == 4) { // as a single session's graph builds it: [L, t] transposed
            float[] columns = new float[values.length];
            for (int r = 0; r < t; r++) {
                for (int j = 0; j < keys; j++) {
                    columns[j * t + r] = values[r * keys + j];
                }
            }
            return Torch.transpose((PtNDArray) m.create(columns, new Shape(keys, t)).toType(dtype, false), 0, 1);
        }
        Shape shape = kind == 3 ? new Shape(sequences, t, keys) : new Shape(t, keys);
        return (PtNDArray) m.create(values, shape).toType(dtype, false);
    }
}
