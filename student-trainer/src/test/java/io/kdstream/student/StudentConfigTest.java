package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import io.kdstream.model.Architecture;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.Normalization;

class StudentConfigTest {

    @Test
    void theCheckpointedFormIsTheOneCheckpointsWrittenBeforeTheBuilderHold() {
        // what the 15-field record printed: checkpoints store it and a resume compares it
        assertThat(StudentConfig.defaults()).hasToString("StudentConfig[arch=cnn, projection=matrix_exp, "
                + "featureLoss=l2, alpha=1.0, gamma=0.0, temperature=4.0, labelSmoothing=0.0, optimizer=ADAMW, "
                + "lr=0.002, weightDecay=5.0E-4, schedule=COSINE, warmupSteps=20, replayEpochs=0, seed=0, "
                + "studentNorm=none]");
        StudentConfig c = StudentConfig.builder().optArch(Architecture.VIT_POOL).optProjection(Projection.CAYLEY)
                .optFeatureLoss(FeatureLoss.SMOOTH_L1).optAlpha(2).optGamma(0.5).optTemperature(2)
                .optLabelSmoothing(0.1).optOptimizer(ParameterOptimizer.Kind.SGD).optLr(1e-3).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.STEP).optWarmupSteps(0).optReplayEpochs(3).optSeed(7)
                .optStudentNorm(Normalization.LAYER).build();
        assertThat(c).hasToString("StudentConfig[arch=vit-pool, projection=cayley, featureLoss=smooth_l1, "
                + "alpha=2.0, gamma=0.5, temperature=2.0, labelSmoothing=0.1, optimizer=SGD, lr=0.001, "
                + "weightDecay=0.0, schedule=STEP, warmupSteps=0, replayEpochs=3, seed=7, studentNorm=layer]");
    }

    @Test
    void buildRefusesOutOfRangeOptions() {
        assertThatThrownBy(() -> StudentConfig.builder().optStudentNorm(Normalization.WHITEN).build())
                .hasMessageContaining("--student-norm must be none or layer, got whiten");
        assertThatThrownBy(() -> StudentConfig.builder().optTemperature(0).build())
                .hasMessageContaining("temperature > 0");
        assertThatThrownBy(() -> StudentConfig.builder().optLabelSmoothing(1).build())
                .hasMessageContaining("label smoothing < 1");
        assertThatThrownBy(() -> StudentConfig.builder().optLr(0).build()).hasMessageContaining("lr > 0");
        assertThatThrownBy(() -> StudentConfig.builder().optReplayEpochs(-1).build())
                .hasMessageContaining("replay epochs >= 0");
    }

    @Test
    void projectionsParseTheirCommandLineSpelling() {
        assertThat(Projection.fromConfigName("Matrix_Exp")).isEqualTo(Projection.MATRIX_EXP);
        assertThat(Projection.CAYLEY.orthogonalMap()).isNotNull();
        assertThat(Projection.LINEAR.orthogonalMap()).isNull();
        assertThatThrownBy(() -> Projection.fromConfigName("svd")).hasMessageContaining("--projection must be");
    }
}
