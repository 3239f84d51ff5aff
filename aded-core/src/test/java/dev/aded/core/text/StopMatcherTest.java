package dev.aded.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    @Test
    void neverEmitsAPartialStopStringAndCutsBeforeIt() {
        StopMatcher m = new StopMatcher(List.of("\n\n", "END"));
        StringBuilder out = new StringBuilder();
        for (String piece : new String[] {"ret", "urn x", "\nE", "N", "x\n", "\n", "more"}) {
            String emitted = m.push(piece);
            assertFalse(emitted.contains("\n\n"));
            out.append(emitted);
        }
        assertTrue(m.stopped());
        assertEquals("return x\nENx", out.toString());
        assertEquals("", m.flush());
    }

    @Test
    void flushReleasesHeldTextWhenNoStopCame() {
        StopMatcher m = new StopMatcher(List.of("STOP"));
        assertEquals("ab", m.push("abST"));
        assertEquals("ST", m.flush());
        assertFalse(m.stopped());
    }

    @Test
    void withoutStopStringsEverythingPassesAtOnce() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.push("abc"));
    }
}
