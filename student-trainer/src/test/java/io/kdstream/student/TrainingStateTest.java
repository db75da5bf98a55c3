package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.DType;
import io.kdstream.codec.Tensor;

class TrainingStateTest {

    private static final TrainingState.Experiment EXPERIMENT =
            new TrainingState.Experiment("run-1", "teacher-1", "group-1", "cfg");
    private static final Map<String, Tensor> MODEL =
            Map.of("param/w", Tensor.ofFloats(DType.F32, new int[] {1}, new float[] {1f}));

    @Test
    void aCheckpointCarriesTheWholeStateUnderTheKeysCheckpointsHaveAlwaysHad() {
        TrainingState s = TrainingState.fresh(2, 1, 2);
        s.consumed(0, 4);
        s.stepped(0, 1);
        s.improvedBy(0.5);

        Checkpoint c = s.toCheckpoint(MODEL, 7, EXPERIMENT);

        assertThat(c.attributes()).containsEntry("pass", "0").containsEntry("best_accuracy", "0.5")
                .containsEntry("optimizer_updates", "7").containsEntry("run_id", "run-1")
                .containsEntry("teacher_id", "teacher-1").containsEntry("group", "group-1")
                .containsEntry("config", "cfg");
        TrainingState back = TrainingState.from(c);
        assertThat(back.step()).isEqualTo(1);
        assertThat(back.pass()).isZero();
        assertThat(back.best()).isEqualTo(0.5);
        assertThat(back.optimizerUpdates()).isEqualTo(7);
        assertThat(back.offsets()).containsExactly(Map.entry(0, 5L));
        assertThat(back.alreadyTrained(0, 1)).isTrue();
        assertThat(back.alreadyTrained(0, 0)).isFalse();
    }

    @Test
    void aCheckpointWithoutTheOptionalAttributesResumesWithTheirFreshValues() {
        TrainedBatches trained = new TrainedBatches(1, 1, 2);
        trained.add(0, 0, 0);
        TrainingState s = TrainingState.from(new Checkpoint(MODEL, 3, Map.of(0, 3L), trained.encode(), Map.of()));

        assertThat(s.pass()).isZero();
        assertThat(s.best()).isNaN();
        assertThat(s.optimizerUpdates()).isZero();
        assertThat(s.step()).isEqualTo(3);
    }

    @Test
    void aPassEndsWhenEveryBatchOfItIsTrainedAndTheNextStartsFromTheTopicsBeginning() {
        TrainingState s = TrainingState.fresh(2, 1, 2);
        s.consumed(0, 0);
        s.stepped(0, 0);
        assertThat(s.advancePass(2)).isFalse();
        s.consumed(0, 1);
        s.stepped(0, 1);
        assertThat(s.commitsOffsets()).isTrue();

        assertThat(s.advancePass(2)).isTrue();

        assertThat(s.pass()).isEqualTo(1);
        assertThat(s.next()).isEmpty();
        assertThat(s.alreadyTrained(0, 0)).as("a replay trains the batch again").isFalse();
        assertThat(s.commitsOffsets()).as("a replay's positions would look like negative lag").isFalse();
        s.stepped(0, 0);
        s.stepped(0, 1);
        assertThat(s.advancePass(2)).as("no third pass").isFalse();
        assertThat(s.complete()).isTrue();
    }

    @Test
    void onlyAHigherAccuracyIsTheBestAndTheFirstEvaluationAlwaysIs() {
        TrainingState s = TrainingState.fresh(1, 1, 1);
        assertThat(s.improvedBy(0.4)).isTrue();
        assertThat(s.improvedBy(0.4)).isFalse();
        assertThat(s.improvedBy(0.3)).isFalse();
        assertThat(s.improvedBy(0.6)).isTrue();
        assertThat(s.best()).isEqualTo(0.6);
    }

    @Test
    void aCheckpointOfAnotherRunOrTeacherIsRefusedAndAnotherConfigurationOnlyWarned() {
        Checkpoint c = TrainingState.fresh(1, 1, 1).toCheckpoint(MODEL, 0, EXPERIMENT);
        Path dir = Path.of("ckpt");

        new TrainingState.Experiment("run-1", "teacher-1", "group-1", "other cfg").requireResumable(c, dir);
        assertThatThrownBy(() -> new TrainingState.Experiment("run-2", "teacher-1", "g", "cfg").requireResumable(c, dir))
                .hasMessageContaining("belongs to run run-1").hasMessageContaining("--checkpoint-dir");
        Map<String, String> attrs = new HashMap<>(c.attributes());
        attrs.put("teacher_id", "teacher-2");
        Checkpoint other = new Checkpoint(MODEL, 0, Map.of(), c.trained(), attrs);
        assertThatThrownBy(() -> EXPERIMENT.requireResumable(other, dir)).hasMessageContaining("teacher teacher-2");
    }
}
