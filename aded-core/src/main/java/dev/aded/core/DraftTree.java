package dev.aded.core;

import java.util.Arrays;

/**
 * A tree of draft tokens in the flattened form the verifier consumes.
 *
 * <p>Node 0 is the root: the last token of the context, whose key/value entry is not yet in the model's cache.
 * Every other node is a drafted continuation of its parent. Nodes are stored parents-before-children, so a
 * node's index is always greater than its parent's, and a node's depth is its position offset from the root.
 * The ancestor relation (a node attends to the past, its ancestors and itself) is kept as one bit row per node,
 * built as nodes are added, so the verifier never walks the tree.
 *
 * <p>A tree is a reusable buffer: {@link #reset(int)} clears it without allocating, so a drafter can keep one
 * per generation. Not thread-safe.
 */
public final class DraftTree {
    private static final byte DRAFTED = 1;
    private static final byte LOOKUP = 2;
    private final int capacity;
    private final int words;
    private final int[] tokens;
    private final int[] parents;
    private final int[] depths;
    private final float[] probs;
    /** Per node: {@link #DRAFTED} and/or {@link #LOOKUP}. */
    private final byte[] origins;
    private final int[] firstChild;
    private final int[] nextSibling;
    private final long[] ancestors;
    private int size;
    private int maxDepth;
    private int lookupMatch;

    /** @param capacity the most nodes this tree can hold, the root included */
    public DraftTree(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("tree capacity must be at least 1 (the root), got " + capacity);
        }
        this.capacity = capacity;
        this.words = (capacity + 63) >>> 6;
        this.tokens = new int[capacity];
        this.parents = new int[capacity];
        this.depths = new int[capacity];
        this.probs = new float[capacity];
        this.origins = new byte[capacity];
        this.firstChild = new int[capacity];
        this.nextSibling = new int[capacity];
        this.ancestors = new long[capacity * words];
    }

    /** Empties the tree and sets its root token. */
    public void reset(int rootToken) {
        Arrays.fill(ancestors, 0, Math.max(size, 1) * words, 0L);
        size = 1;
        maxDepth = 0;
        lookupMatch = 0;
        tokens[0] = rootToken;
        parents[0] = -1;
        depths[0] = 0;
        probs[0] = 1f;
        origins[0] = 0;
        firstChild[0] = -1;
        nextSibling[0] = -1;
        ancestors[0] = 1L;
    }

    /**
     * Adds a child of {@code parent} and returns its index.
     *
     * @param prob the drafter's probability of this token given its parent's path (informational: verification
     *     never uses it, so a wrong estimate costs speed, not correctness)
     * @throws IllegalStateException when the tree is full
     * @throws IllegalArgumentException when the parent does not exist or already has a child with this token
     */
    public int add(int parent, int token, float prob) {
        if (size == capacity) {
            throw new IllegalStateException("draft tree is full (" + capacity + " nodes)");
        }
        if (parent < 0 || parent >= size) {
            throw new IllegalArgumentException("parent " + parent + " is not a node of this tree (size " + size + ")");
        }
        if (child(parent, token) >= 0) {
            throw new IllegalArgumentException("node " + parent + " already has a child with token " + token);
        }
        int node = size++;
        tokens[node] = token;
        parents[node] = parent;
        depths[node] = depths[parent] + 1;
        probs[node] = prob;
        origins[node] = DRAFTED;
        firstChild[node] = -1;
        nextSibling[node] = firstChild[parent];
        firstChild[parent] = node;
        System.arraycopy(ancestors, parent * words, ancestors, node * words, words);
        ancestors[node * words + (node >>> 6)] |= 1L << (node & 63);
        maxDepth = Math.max(maxDepth, depths[node]);
        return node;
    }

    /** Returns the child of {@code node} carrying {@code token}, or -1. */
    public int child(int node, int token) {
        for (int c = firstChild[node]; c >= 0; c = nextSibling[c]) {
            if (tokens[c] == token) {
                return c;
            }
        }
        return -1;
    }

    /** The first child of a node, or -1; continue with {@link #nextSibling(int)}. */
    public int firstChild(int node) {
        return firstChild[node];
    }

    /** The next child of the same parent, or -1. */
    public int nextSibling(int node) {
        return nextSibling[node];
    }

    /** True when {@code ancestor} is {@code node} itself or lies on the path from the root to it. */
    public boolean isAncestorOrSelf(int ancestor, int node) {
        return (ancestors[node * words + (ancestor >>> 6)] & (1L << (ancestor & 63))) != 0;
    }

    /**
     * The ancestors-or-self of {@code node} among nodes {@code 64·word} to {@code 64·word + 63}, one bit each (bit
     * j: node {@code 64·word + j}); 0 for words past the tree's capacity. A verifier sends a tree's mask as these
     * bits rather than a float per node pair.
     */
    public long ancestorWord(int node, int word) {
        return word < words ? ancestors[node * words + word] : 0L;
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return capacity;
    }

    public int token(int node) {
        return tokens[node];
    }

    public int parent(int node) {
        return parents[node];
    }

    /** The position offset from the root: 0 for the root, 1 for its children. */
    public int depth(int node) {
        return depths[node];
    }

    public float prob(int node) {
        return probs[node];
    }

    /**
     * Adds a node of the context-lookup chain (see {@link ContextLookup}) that the drafter did not propose; it
     * carries no draft probability of its own (1 is stored), so the loop estimates its acceptance from the chain's
     * record instead.
     */
    public int addLookup(int parent, int token) {
        int node = add(parent, token, 1f);
        origins[node] = LOOKUP;
        return node;
    }

    /** Marks a drafted node as lying on the context-lookup chain too. */
    public void markLookup(int node) {
        if (node < 1 || node >= size) {
            throw new IllegalArgumentException("node " + node + " is not a draft node of this tree (size " + size + ")");
        }
        origins[node] |= LOOKUP;
    }

    /** Records how many tokens back the context matched where the context-lookup chain was found. */
    public void setLookupMatch(int tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("a match of " + tokens + " tokens");
        }
        lookupMatch = tokens;
    }

    /** How many tokens back the context matched where the lookup chain was found; 0 without a chain. */
    public int lookupMatch() {
        return lookupMatch;
    }

    /** True for nodes of the context-lookup chain, whether or not the drafter proposed them too. */
    public boolean isLookup(int node) {
        return (origins[node] & LOOKUP) != 0;
    }

    /** True for nodes the drafter proposed, with their draft probability in {@link #prob(int)}. */
    public boolean isDrafted(int node) {
        return (origins[node] & DRAFTED) != 0;
    }

    public int maxDepth() {
        return maxDepth;
    }

    /** Copies the node tokens into {@code out[0..size)}. */
    public void copyTokens(int[] out) {
        System.arraycopy(tokens, 0, out, 0, size);
    }

    /** Copies the node depths into {@code out[0..size)}. */
    public void copyDepths(int[] out) {
        System.arraycopy(depths, 0, out, 0, size);
    }
}
