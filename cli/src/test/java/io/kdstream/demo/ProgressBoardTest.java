package io.kdstream.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.StudentState;
import io.kdstream.progress.ProgressEvent;

/** The demo's live view while students start: no NaN, a dash until a figure exists. */
class ProgressBoardTest {

    @Test
    void aStartingStudentShowsADashInsteadOfNaN() {
        Experiment e = Experiment.all(1).get(0);
        StudentState starting = new StudentState(e, "g-starting");
        starting.started();
        StudentState training = new StudentState(e, "g-training");
        training.started();
        training.accept(new ProgressEvent.StudentProgress("g-training", 12, 12, 40, 1.234, 1.0, 0.234, 0.0, 812.4));

        List<String> lines = new ProgressBoard(() -> null, List.of(starting, training)).lines(true);

        assertThat(lines).noneMatch(l -> l.contains("NaN"));
        assertThat(lines.get(1)).contains("loss      -", "    - img/s");
        assertThat(lines.get(2)).contains("loss  1.234", "  812 img/s");
    }
}
