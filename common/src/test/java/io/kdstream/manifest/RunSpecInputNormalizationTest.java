package io.kdstream.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.TestBatches;

/** The input normalization in the run manifest, and manifests written before it was recorded. */
class RunSpecInputNormalizationTest {

    /** A manifest exactly as the build before input_mean/input_std wrote it. */
    private static final String OLD_MANIFEST = "{\"schema_version\":1,\"run_id\":\"run-a\","
            + "\"dataset_id\":\"fashion-mnist/train?limit=512&seed=7\",\"teacher_id\":\"teacher-sha256-abc\","
            + "\"feature_layer\":\"pool\",\"feature_dim\":16,\"logit_classes\":10,\"num_classes\":10,"
            + "\"input_shape\":[1,28,28],\"normalization\":\"layer\",\"feature_dtype\":\"F16\","
            + "\"input_mode\":\"INLINE\",\"augmentation\":\"crop+flip\",\"batch_size\":8,\"epochs\":2,"
            + "\"batches_per_epoch\":4,\"seed\":7}";

    private final RunSpec old = TestBatches.spec("run-a", 16, 10, InputMode.INLINE);

    @Test
    void anOldManifestStillLoadsWithoutNormalizationAndKeepsItsJsonAndDigest() throws Exception {
        RunSpec read = RunSpec.fromJson(OLD_MANIFEST.getBytes(StandardCharsets.UTF_8));
        assertThat(read).isEqualTo(old);
        assertThat(read.inputMean()).isNull();
        assertThat(read.inputStd()).isNull();
        ObjectMapper json = new ObjectMapper();
        assertThat(json.readTree(read.toJson())).isEqualTo(json.readTree(OLD_MANIFEST));
        assertThat(read.digest()).isEqualTo(old.digest());
    }

    @Test
    void theNormalizationRoundTripsAndADifferenceNamesBothValues() {
        RunSpec spec = old.withInputNormalization(new float[] {0.286f}, new float[] {0.353f});
        assertThat(new String(spec.toJson(), StandardCharsets.UTF_8))
                .contains("\"input_mean\":[0.286]", "\"input_std\":[0.353]");
        RunSpec back = RunSpec.fromJson(spec.toJson());
        assertThat(back).isEqualTo(spec);
        assertThat(back.inputMean()).containsExactly(0.286f);

        RunSpec other = old.withInputNormalization(new float[] {0.5f}, new float[] {0.353f});
        assertThatThrownBy(() -> spec.requireMatches(other)).isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("input_mean: manifest has [0.286], configured [0.5]")
                .hasMessageNotContaining("input_std");
    }

    @Test
    void aManifestThatRecordsNoNormalizationDisagreesWithNoTeacherAboutIt() {
        RunSpec configured = old.withInputNormalization(new float[] {0.5f}, new float[] {0.25f});
        assertThat(old.differencesFrom(configured)).isEmpty();
    }

    @Test
    void valuesMustFitTheChannelsAndComeTogether() {
        assertThatThrownBy(() -> old.withInputNormalization(new float[] {0.5f, 0.5f, 0.5f}, new float[] {1, 1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one value per channel (1)");
        assertThatThrownBy(() -> old.withInputNormalization(new float[] {0.5f}, new float[] {0f}))
                .hasMessageContaining("input_std positive");
        String half = OLD_MANIFEST.replace("\"seed\":7}", "\"seed\":7,\"input_mean\":[0.5]}");
        assertThatThrownBy(() -> RunSpec.fromJson(half.getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("input_mean and input_std come together");
        assertThat(List.of(old.withInputNormalization(new float[] {0.5f}, new float[] {0.25f}).inputStd()))
                .containsExactly(List.of(0.25f));
    }
}
