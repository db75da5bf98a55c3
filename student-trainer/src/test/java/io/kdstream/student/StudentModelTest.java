package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.model.Architecture;
import io.kdstream.model.DeviceCases;
import io.kdstream.model.Devices;
import io.kdstream.vkd.Normalization;

class StudentModelTest {

    private static final RunSpec RUN = RunSpec.builder().setRunId("unit").setSource("synthetic", 10, List.of(1, 28, 28))
            .setTeacher("t", "pool").setFeatures(96, Normalization.LAYER, DType.F16)
            .setStream(16, 1, 1, 1L).build();

    @ParameterizedTest
    @CsvSource({"matrix_exp,none", "matrix_exp,layer", "cayley,none", "linear,layer"})
    void repeatedStepsOnOneBatchDriveTheFeatureLossDown(String projection, String studentNorm) {
        StudentConfig cfg = config().optProjection(Projection.fromConfigName(projection))
                .optStudentNorm(Normalization.fromConfigName(studentNorm)).optLr(3e-3).build();
        try (StudentModel model = new StudentModel(cfg, RUN); NDManager data = model.manager().newSubManager()) {
            NDArray x = data.randomNormal(new Shape(16, 1, 28, 28));
            NDArray y = data.randomInteger(0, 10, new Shape(16), DataType.INT64);
            NDArray t = data.randomNormal(new Shape(16, 96));
            double first = Double.NaN;
            double last = Double.NaN;
            for (int i = 0; i < 60; i++) {
                try (NDManager step = model.manager().newSubManager()) {
                    StudentModel.StepResult r = model.step(step, x, y, t, null, 3e-3);
                    assertThat(r.applied()).isTrue();
                    if (i == 0) {
                        first = r.feature();
                    }
                    last = r.feature();
                }
            }
            assertThat(last).as("%s / %s feature loss after 60 steps", projection, studentNorm).isLessThan(first * 0.9);
            if (!projection.equals("linear")) {
                assertThat(model.orthogonalityError()).isLessThan(1e-4);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("io.kdstream.model.DeviceCases#specs")
    void everyArrayOfATrainingStepLivesOnTheResolvedDevice(String spec) {
        DeviceCases.assumeAvailable(spec);
        Device device = Devices.resolve(spec);
        StudentConfig cfg = config().optProjection(Projection.MATRIX_EXP).build();
        try (StudentModel model = new StudentModel(cfg, RUN, device);
             NDManager step = model.manager().newSubManager()) {
            NDArray x = step.randomNormal(new Shape(16, 1, 28, 28));
            NDArray y = step.randomInteger(0, 10, new Shape(16), DataType.INT64);
            NDArray t = step.randomNormal(new Shape(16, 96));
            assertThat(model.step(step, x, y, t, null, 1e-3).applied()).isTrue();
            // parameters, optimizer state and the step's temporaries, while the step's manager is open
            assertThat(model.manager().getManagedArrays()).hasSizeGreaterThan(10);
            assertThat(DeviceCases.misplaced(model.manager(), device)).as("arrays off %s", device).isEmpty();
        }
    }

    @Test
    void rejectsAnUnknownStudentNormAndAnIdentityProjectionOfTheWrongWidth() {
        assertThatThrownBy(() -> config().optStudentNorm(Normalization.BATCH).build())
                .hasMessageContaining("--student-norm");
        StudentConfig none = config().optProjection(Projection.NONE).build();
        assertThatThrownBy(() -> new StudentModel(none, RUN)).hasMessageContaining("d_s = d_t");
    }

    @Test
    void loadingACheckpointRestoresEveryParameterExactlyEvenOverNonFiniteOnes() {
        try (StudentModel saved = new StudentModel(config().build(), RUN);
             StudentModel restored = new StudentModel(config().optSeed(2L).build(), RUN)) {
            Map<String, Tensor> state = saved.stateTensors();
            // a diverged model (the rollback after K non-finite losses) has NaN and infinite parameters
            Map<String, Tensor> poisoned = new LinkedHashMap<>();
            state.forEach((k, t) -> {
                float[] bad = new float[t.toFloats().length];
                java.util.Arrays.fill(bad, Float.NaN);
                bad[0] = Float.POSITIVE_INFINITY;
                poisoned.put(k, Tensor.ofFloats(DType.F32, t.shape(), bad));
            });
            restored.loadState(poisoned, saved.optimizerUpdates());

            restored.loadState(state, saved.optimizerUpdates());

            Map<String, Tensor> back = restored.stateTensors();
            assertThat(back.keySet()).isEqualTo(state.keySet());
            state.forEach((k, t) -> assertThat(back.get(k).toFloats()).as(k).containsExactly(t.toFloats()));
        }
    }

    /** An mlp student, constant learning rate 1e-3 without weight decay or warm-up, seed 1. */
    private static StudentConfig.Builder config() {
        return StudentConfig.builder().optArch(Architecture.MLP).optLr(1e-3).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(1L);
    }
}
