package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GenerationConfigTest {

    private static String error(GenerationConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    @Test
    void refusesBadValuesNamingTheOption() {
        assertTrue(error(GenerationConfig.builder().temperature(Double.NaN)).contains("temperature"));
        assertTrue(error(GenerationConfig.builder().temperature(-0.1)).contains("temperature"));
        assertTrue(error(GenerationConfig.builder().topP(0)).contains("topP"));
        assertTrue(error(GenerationConfig.builder().topP(1.5)).contains("topP"));
        assertTrue(error(GenerationConfig.builder().topK(-1)).contains("topK"));
        assertTrue(error(GenerationConfig.builder().maxNewTokens(0)).contains("maxNewTokens"));
        assertTrue(error(GenerationConfig.builder().stopStrings("")).contains("stop"));
        assertTrue(error(GenerationConfig.builder().minP(1.01)).contains("minP"));
        assertTrue(error(GenerationConfig.builder().minP(-0.1)).contains("minP"));
        assertTrue(error(GenerationConfig.builder().repetitionPenalty(0)).contains("repetitionPenalty"));
        assertTrue(error(GenerationConfig.builder().repetitionPenalty(Double.NaN)).contains("repetitionPenalty"));
        assertTrue(error(GenerationConfig.builder().stopTokenIds(3, -1)).contains("stop token ids"));
        assertTrue(error(GenerationConfig.builder().logprobs(true).topLogprobs(21)).contains("topLogprobs"));
        assertTrue(error(GenerationConfig.builder().topLogprobs(2)).contains("needs logprobs(true)"));
    }

    @Test
    void treeBudgetAndDepthAreCheckedAtBuildAgainstWhatAVerifierTakes() {
        assertEquals(GenerationConfig.DEFAULT_TREE_BUDGET, GenerationConfig.defaults().treeBudget());
        assertEquals(255, GenerationConfig.builder().treeBudget(255).build().treeBudget());
        String over = error(GenerationConfig.builder().treeBudget(256));
        assertTrue(over.contains("treeBudget") && over.contains("255") && over.contains("256"), over);
        assertTrue(error(GenerationConfig.builder().treeBudget(0)).contains("treeBudget"));
        assertTrue(error(GenerationConfig.builder().maxDraftDepth(0)).contains("maxDraftDepth"));
        assertTrue(error(GenerationConfig.builder().maxDraftDepth(256)).contains("maxDraftDepth"));
    }

    @Test
    void parsesModesAndNamesTheChoicesOnError() {
        assertEquals(Mode.PLD, Mode.parse("pld"));
        assertEquals(Mode.ADED, Mode.parse(" ADED "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Mode.parse("fast")).getMessage()
                .contains("ar, pld or aded"));
    }

    @Test
    void toBuilderKeepsEverySetting() {
        GenerationConfig c = GenerationConfig.builder().maxNewTokens(7).temperature(0.5).topP(0.9).topK(3).seed(11)
                .minP(0.05).repetitionPenalty(1.2).stopTokenIds(5, 9).logprobs(true).topLogprobs(3)
                .stopStrings("x").mode(Mode.PLD).treeBudget(9).maxDraftDepth(4)
                .contextOverflow(ContextOverflow.TRUNCATE_PROMPT_START).build();
        assertEquals(c.toString(), c.toBuilder().build().toString());
        assertEquals(ContextOverflow.TRUNCATE_PROMPT_START, c.toBuilder().build().contextOverflow());
    }
}
