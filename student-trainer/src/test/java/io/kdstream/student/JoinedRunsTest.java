package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.manifest.RunSpec;
import io.kdstream.vkd.Normalization;

/** Which runs one student may join: same samples in the same batches, any teachers. */
class JoinedRunsTest {

    private static RunSpec.Builder run(String id) {
        return RunSpec.builder().setRunId(id).setSource("fashion-mnist/train?limit=512&seed=7", 10, List.of(1, 28, 28))
                .setTeacher("teacher-" + id, "pool").setFeatures(64, Normalization.LAYER, DType.F16)
                .optAugmentation(AugmentPolicy.parse("flip")).setStream(32, 16, 2, 11L)
                .optInputNormalization(new float[] {0.286f}, new float[] {0.353f});
    }

    @Test
    void teachersFeatureWidthsNormalizationsDtypesLogitsAndInputModesMayDiffer() {
        RunSpec cnn = run("cnn").build();
        RunSpec vit = run("vit").setTeacher("other", "cls").setFeatures(192, Normalization.BATCH, DType.F32)
                .optLogitClasses(10).optInputMode(InputMode.REFERENCE).build();

        JoinedRuns runs = JoinedRuns.of(List.of(vit, cnn));

        assertThat(runs.ids()).containsExactly("vit", "cnn");
        assertThat(runs.inlineRun()).isEqualTo(1);
        assertThat(JoinedRuns.of(List.of(vit)).inlineRun()).isEqualTo(-1);
    }

    @Test
    void aRunThatCutsOtherBatchesIsRefusedInOneLineNamingTheFieldAndBothValues() {
        RunSpec a = run("a").build();
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, run("b").setStream(32, 16, 2, 12L).build())))
                .hasMessage("runs a and b cannot be joined: seed: a has 11, b has 12 (joined runs must cut the same "
                        + "batches from the same samples)");
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, run("b").setSource("fashion-mnist/train?limit=1000&seed=7",
                10, List.of(1, 28, 28)).build())))
                .hasMessageContaining("dataset_id: a has fashion-mnist/train?limit=512&seed=7, b has "
                        + "fashion-mnist/train?limit=1000&seed=7");
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, run("b").optAugmentation(AugmentPolicy.parse("crop+flip"))
                .build()))).hasMessageContaining("augmentation: a has flip, b has crop+flip");
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, run("b").setStream(64, 8, 2, 11L).build())))
                .hasMessageContaining("batch_size: a has 32, b has 64");
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, run("b").setStream(32, 16, 3, 11L).build())))
                .hasMessageContaining("epochs: a has 2, b has 3");
        assertThatThrownBy(() -> JoinedRuns.of(List.of(a, a))).hasMessageContaining("run a is named twice");
    }
}
