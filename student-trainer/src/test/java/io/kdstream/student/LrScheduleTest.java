package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

    @Test
    void cosineWarmsUpLinearlyThenDecaysToZero() {
        LrSchedule s = LrSchedule.cosine(0.1, 10, 110);
        assertThat(s.at(0)).isCloseTo(0.01, within(1e-12));
        assertThat(s.at(9)).isCloseTo(0.1, within(1e-12));
        assertThat(s.at(10)).isCloseTo(0.1, within(1e-12));
        assertThat(s.at(60)).isCloseTo(0.05, within(1e-12));
        assertThat(s.at(110)).isCloseTo(0.0, within(1e-12));
        for (long t = 11; t < 110; t++) {
            assertThat(s.at(t)).isLessThanOrEqualTo(s.at(t - 1));
        }
    }

    @Test
    void stepDecaysAtMilestones() {
        LrSchedule s = LrSchedule.step(1.0, 0, 100);
        assertThat(s.at(49)).isEqualTo(1.0);
        assertThat(s.at(50)).isCloseTo(0.1, within(1e-12));
        assertThat(s.at(75)).isCloseTo(0.01, within(1e-12));
    }
}
