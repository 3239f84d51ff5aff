package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DraftTreeTest {

    @Test
    void keepsParentsDepthsAndAncestorsOfABranchingTree() {
        DraftTree t = new DraftTree(70);
        t.reset(5);
        int a = t.add(0, 10, 0.5f);
        int b = t.add(0, 11, 0.3f);
        int a1 = t.add(a, 20, 0.4f);
        int node = a1;
        for (int i = 0; i < 64; i++) { // crosses the 64-bit word boundary of the ancestor rows
            node = t.add(node, 100 + i, 0.9f);
        }
        assertEquals(68, t.size());
        assertEquals(66, t.depth(node));
        assertEquals(66, t.maxDepth());
        assertEquals(a, t.parent(a1));
        assertTrue(t.isAncestorOrSelf(0, node));
        assertTrue(t.isAncestorOrSelf(a, node));
        assertTrue(t.isAncestorOrSelf(node, node));
        assertFalse(t.isAncestorOrSelf(b, node));
        assertFalse(t.isAncestorOrSelf(node, a));
        assertEquals(b, t.child(0, 11));
        assertEquals(-1, t.child(0, 12));
        // The same ancestors as words of bits: the root, a, a1 and the chain from node 3 on.
        assertEquals(~0L << 3 | 1L << a1 | 1L << a | 1L, t.ancestorWord(node, 0));
        assertEquals((1L << (node - 63)) - 1, t.ancestorWord(node, 1));
        assertEquals(1L << b | 1L, t.ancestorWord(b, 0));
        assertEquals(0L, t.ancestorWord(b, 1));
        assertEquals(0L, t.ancestorWord(node, 2)); // past the capacity's words
    }

    @Test
    void refusesDuplicateSiblingsUnknownParentsAndOverflow() {
        DraftTree t = new DraftTree(3);
        t.reset(1);
        t.add(0, 2, 1f);
        assertThrows(IllegalArgumentException.class, () -> t.add(0, 2, 1f));
        assertThrows(IllegalArgumentException.class, () -> t.add(7, 3, 1f));
        t.add(1, 3, 1f);
        assertThrows(IllegalStateException.class, () -> t.add(0, 4, 1f));
    }

    @Test
    void resetClearsTheAncestorRowsOfTheLastTree() {
        DraftTree t = new DraftTree(4);
        t.reset(1);
        t.add(t.add(0, 2, 1f), 3, 1f);
        t.reset(9);
        int x = t.add(0, 4, 1f);
        int y = t.add(0, 5, 1f);
        assertFalse(t.isAncestorOrSelf(x, y));
        assertEquals(1, t.depth(y));
        assertEquals(9, t.token(0));
    }
}
