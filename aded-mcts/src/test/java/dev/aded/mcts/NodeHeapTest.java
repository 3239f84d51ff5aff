package dev.aded.mcts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class NodeHeapTest {

    @Test
    void popsHighestValueFirstAndLowerIndexAmongEquals() {
        double[] values = {0.5, 0.9, 0.5, 0.9, 0.1, 0.5};
        NodeHeap heap = new NodeHeap(2);
        heap.clear(values);
        for (int i = values.length - 1; i >= 0; i--) {
            heap.push(i);
        }
        int[] order = new int[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = heap.pop();
        }
        assertEquals("[1, 3, 0, 2, 5, 4]", java.util.Arrays.toString(order));
        assertTrue(heap.isEmpty());
    }

    @Test
    void matchesASortOnRandomValues() {
        Random r = new Random(3);
        double[] values = new double[500];
        NodeHeap heap = new NodeHeap(1);
        heap.clear(values);
        for (int i = 0; i < values.length; i++) {
            values[i] = r.nextInt(50) / 50.0;
            heap.push(i);
        }
        int previous = heap.pop();
        while (!heap.isEmpty()) {
            int next = heap.pop();
            assertTrue(values[previous] > values[next] || values[previous] == values[next] && previous < next);
            previous = next;
        }
    }
}
