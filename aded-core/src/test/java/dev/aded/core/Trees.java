package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks on chosen trees shared by the sizing tests. */
final class Trees {
    private Trees() {}

    /**
     * {@code out} holds exactly the candidates of highest path value (by raw draft probability, as a fresh
     * calibration sees them), with their parents: no candidate left out beats one kept.
     */
    static void assertTopByPathValue(DraftTree candidates, DraftTree out) {
        double[] value = new double[candidates.size()];
        value[0] = 1;
        double lowestKept = Double.POSITIVE_INFINITY;
        double highestLeft = 0;
        for (int i = 1; i < candidates.size(); i++) {
            value[i] = value[candidates.parent(i)] * candidates.prob(i);
            int kept = find(out, candidates, i);
            if (kept >= 0) {
                lowestKept = Math.min(lowestKept, value[i]);
                int parent = candidates.parent(i);
                assertTrue(parent == 0 || find(out, candidates, parent) == out.parent(kept), "parent kept");
            } else {
                highestLeft = Math.max(highestLeft, value[i]);
            }
        }
        assertTrue(out.size() == 1 || lowestKept >= highestLeft, "kept down to " + lowestKept + ", left "
                + highestLeft);
        assertEquals(out.size() - 1, count(value, lowestKept), "every candidate at or above the cut is kept");
    }

    private static int count(double[] value, double atLeast) {
        int n = 0;
        for (int i = 1; i < value.length; i++) {
            n += value[i] >= atLeast ? 1 : 0;
        }
        return n;
    }

    /** The node of {@code out} on the same token path as candidate {@code node}, or -1. */
    private static int find(DraftTree out, DraftTree candidates, int node) {
        if (node == 0) {
            return 0;
        }
        int parent = find(out, candidates, candidates.parent(node));
        return parent < 0 ? -1 : out.child(parent, candidates.token(node));
    }
}
