package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PromptLookupDrafterTest {

    @Test
    void proposesWhatFollowedTheEarliestOccurrenceOfTheLastBigram() {
        int[] ctx = {1, 7, 8, 9, 10, 11, 3, 7, 8, 4, 7, 8};
        DraftTree t = new DraftTree(20);
        t.reset(ctx[ctx.length - 1]);
        new PromptLookupDrafter().draft(ctx, ctx.length, 16, 16, t);
        // Earliest "7 8" is at 1, followed by 9 10 11 3 7 8 4 7 8 (9 tokens, capped by the context end).
        assertEquals(10, t.size());
        assertEquals(9, t.token(1));
        assertEquals(11, t.token(3));
        assertEquals(t.size() - 1, t.maxDepth());
    }

    @Test
    void fallsBackToUnigramsAndRespectsBudgetAndDepth() {
        int[] ctx = {5, 6, 7, 8, 2, 6};
        DraftTree t = new DraftTree(8);
        t.reset(6);
        new PromptLookupDrafter().draft(ctx, ctx.length, 2, 5, t);
        assertEquals(3, t.size());
        assertEquals(7, t.token(1));
        assertEquals(8, t.token(2));
        t.reset(6);
        new PromptLookupDrafter().draft(ctx, ctx.length, 5, 1, t);
        assertEquals(2, t.size());
    }

    @Test
    void proposesNothingWithoutAMatch() {
        int[] ctx = {1, 2, 3, 4};
        DraftTree t = new DraftTree(8);
        t.reset(4);
        new PromptLookupDrafter().draft(ctx, ctx.length, 8, 8, t);
        assertEquals(1, t.size());
    }
}
