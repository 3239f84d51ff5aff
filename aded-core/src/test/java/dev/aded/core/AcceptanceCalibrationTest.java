package dev.aded.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AcceptanceCalibrationTest {

    @Test
    void withoutEvidenceTheDraftProbabilityStands() {
        AcceptanceCalibration c = new AcceptanceCalibration();
        assertEquals(0.3, c.accept(0.3), 1e-12);
        assertEquals(1.0, c.accept(1.0), 1e-12);
    }

    @Test
    void bandsLearnSeparatelyAndEstimatesStayProbabilities() {
        AcceptanceCalibration c = new AcceptanceCalibration();
        for (int i = 0; i < 20; i++) {
            c.observe(0.9, false);
            c.observe(0.3, true);
        }
        // 0.9 band: (0 + 2) / (18 + 2); 0.3 band: (20 + 2) / (6 + 2).
        assertEquals(0.1, c.ratio(0.9), 1e-12);
        assertEquals(22.0 / 8.0, c.ratio(0.3), 1e-12);
        assertEquals(0.09, c.accept(0.9), 1e-12);
        assertEquals(0.825, c.accept(0.3), 1e-12);
        assertEquals(1.0, c.ratio(0.05), 1e-12);
        for (int i = 0; i < 20; i++) {
            c.observe(0.6, true);
        }
        assertTrue(c.ratio(0.7) > 1.5, "0.5-0.7 band ratio " + c.ratio(0.7));
        assertEquals(1.0, c.accept(0.7), 1e-12);
    }
}
