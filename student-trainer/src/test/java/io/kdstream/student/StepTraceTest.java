package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StepTraceTest {

    @TempDir
    Path tmp;

    private static StudentListener.StepEvent step(long step, int epoch, int batch) {
        return new StudentListener.StepEvent(step, 0, epoch + "/" + batch, 0.1, 1, 1, 0, 0, 0, 4, 0);
    }

    @Test
    void aStartRollsBackTheStepsTheDeadProcessNeverCheckpointed() throws Exception {
        Path f = tmp.resolve("t.trace");
        try (StepTrace t = StepTrace.open(f)) {
            t.onStart(0);
            t.onStep(step(1, 0, 0));
            t.onStep(step(2, 0, 1));
            t.onCheckpoint(2, tmp);
            t.onStep(step(3, 1, 0)); // lost with the process
        }
        Files.writeString(f, "step 4 1 1", StandardCharsets.US_ASCII, java.nio.file.StandardOpenOption.APPEND);
        try (StepTrace t = StepTrace.open(f)) { // the torn line is ended, not glued to the next
            t.onStart(2);
            t.onStep(step(3, 1, 0));
            t.onStep(step(4, 1, 1));
        }
        StepTrace.Replay r = StepTrace.replay(f);
        assertThat(r.starts()).isEqualTo(2);
        assertThat(r.rolledBack()).isEqualTo(1);
        assertThat(r.torn()).isEqualTo(1);
        assertThat(r.surviving()).extracting(StepTrace.Step::step).containsExactly(1L, 2L, 3L, 4L);
        assertThat(r.contiguous()).isTrue();
        assertThat(r.duplicates()).isZero();
        assertThat(r.missing(1, 2, 2)).isEmpty();
        assertThat(r.interruptions()).containsExactly(new StepTrace.Interruption(3, 2, 2));
        assertThat(r.interruptions().get(0).where(2)).isEqualTo("mid-step");
    }

    @Test
    void aBatchTrainedTwiceInTheSurvivingHistoryIsADuplicateAndAGapIsSeen() throws Exception {
        Path f = tmp.resolve("t.trace");
        Files.write(f, List.of("start 0", "step 1 0 0 0", "step 2 0 0 0", "step 4 0 0 1"));
        StepTrace.Replay r = StepTrace.replay(f);
        assertThat(r.duplicates()).isEqualTo(1);
        assertThat(r.contiguous()).isFalse();
        assertThat(r.missing(1, 1, 3)).containsExactly("0:0/2");
    }

    @Test
    void killPointsAreReadFromTheTrace() {
        assertThat(new StepTrace.Interruption(10, 5, 10).where(5)).isEqualTo("after-checkpoint-before-commit");
        assertThat(new StepTrace.Interruption(10, 5, 5).where(5)).isEqualTo("mid-checkpoint-write");
        assertThat(new StepTrace.Interruption(8, 5, 5).where(5)).isEqualTo("mid-step");
    }
}
