package dev.aded.mcts;

import java.util.Arrays;

/**
 * A binary max-heap of node indices ranked by a value array: the highest value first, the lower index first among
 * equals. Ranking ties by index matters: a child never outranks its parent even when its path value is equal, so
 * taking the top of the heap always yields a connected tree. Grows only when a step needs more room than any
 * before.
 */
final class NodeHeap {
    private int[] heap;
    private double[] values;
    private int size;

    NodeHeap(int initialCapacity) {
        heap = new int[Math.max(initialCapacity, 1)];
    }

    /** Empties the heap and ranks what is pushed from now on by {@code values[node]}. */
    void clear(double[] values) {
        this.values = values;
        size = 0;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(int node) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, heap.length * 2);
        }
        int i = size++;
        while (i > 0) {
            int up = (i - 1) >>> 1;
            if (!before(node, heap[up])) {
                break;
            }
            heap[i] = heap[up];
            i = up;
        }
        heap[i] = node;
    }

    int pop() {
        int top = heap[0];
        int last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && before(heap[child + 1], heap[child])) {
                child++;
            }
            if (!before(heap[child], last)) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return top;
    }

    private boolean before(int a, int b) {
        double va = values[a];
        double vb = values[b];
        return va > vb || (va == vb && a < b);
    }
}
