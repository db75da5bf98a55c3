package io.kdstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.kdstream.data.InputNormalization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelZooTest {
    private static final InputNormalization GRAY = new InputNormalization(new float[] {0.5f}, new float[] {0.25f});
    private static final InputNormalization RGB = new InputNormalization(
            new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.25f, 0.25f});

    @TempDir
    Path tmp;

    @Test
    void everyArchitectureGivesFeaturesAndLogitsForBothInputSizes() {
        for (Architecture arch : Architecture.values()) {
            for (int[] chw : new int[][] {{1, 28, 28}, {3, 32, 32}}) {
                try (DjlFeatureModel m = DjlFeatureModel.create(arch, chw[0], chw[1], chw[2], 10, "test",
                        chw[0] == 1 ? GRAY : RGB);
                     NDManager sub = m.model().getNDManager().newSubManager()) {
                    NDArray x = sub.randomNormal(new Shape(3, chw[0], chw[1], chw[2]));
                    NDList out = m.forward(x);
                    assertThat(out.get(0).getShape()).as(arch + " features").isEqualTo(new Shape(3, arch.featureDim()));
                    assertThat(out.get(1).getShape()).as(arch + " logits").isEqualTo(new Shape(3, 10));
                    assertThat(m.features(x).getShape().get(1)).isEqualTo(m.featureDim());
                    assertThat(m.logits(x).getShape().get(1)).isEqualTo(10);
                }
            }
        }
        assertThat(Architecture.RESNET.featureDim()).isGreaterThanOrEqualTo(256);
        assertThat(Architecture.CNN.featureDim()).isLessThan(Architecture.RESNET.featureDim());
        assertThat(Architecture.MLP.featureDim()).isLessThan(Architecture.RESNET.featureDim());
        assertThatThrownBy(() -> Architecture.parse("deit-b")).hasMessageContaining("vit");
    }

    @Test
    void vitPoolDistillsThePatchMeanWhileTheClassifierReadsTheClassToken() {
        assertThat(Architecture.parse("vit-pool")).isEqualTo(Architecture.VIT_POOL);
        assertThat(Architecture.VIT_POOL.id()).isEqualTo("vit-pool");
        for (Architecture arch : new Architecture[] {Architecture.VIT, Architecture.VIT_POOL}) {
            try (DjlFeatureModel m = DjlFeatureModel.create(arch, 1, 28, 28, 10, "test", GRAY);
                 NDManager sub = m.model().getNDManager().newSubManager()) {
                NDArray x = sub.randomNormal(new Shape(4, 1, 28, 28));
                NDList out = m.forward(x);
                ai.djl.nn.Block head = m.model().getBlock().getChildren().stream() // DJL prefixes child names
                        .filter(c -> c.getKey().endsWith("head")).findFirst().orElseThrow().getValue();
                NDArray w = head.getParameters().valueAt(0).getArray();
                NDArray b = head.getParameters().valueAt(1).getArray();
                // logits from the returned features through the head: equal only where the head reads them
                NDArray fromFeatures = out.get(0).matMul(w.transpose()).add(b);
                boolean same = fromFeatures.sub(out.get(1)).abs().max().getFloat() < 1e-4f;
                assertThat(same).as(arch + ": head reads the distilled features").isEqualTo(arch == Architecture.VIT);
                if (arch == Architecture.VIT_POOL) {
                    // a mean of layer-normalized tokens is not itself normalized: unlike the class token's
                    // features, its per-sample variance is below 1
                    NDArray f = out.get(0);
                    NDArray var = f.sub(f.mean(new int[] {1}, true)).square().mean(new int[] {1});
                    assertThat(var.max().getFloat()).isLessThan(0.99f);
                }
            }
        }
    }

    @Test
    void saveLoadRoundTripKeepsOutputsAndTeacherId() throws IOException {
        Path dir = tmp.resolve("teacher");
        try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.RESNET, 1, 28, 28, 10, "fashion-mnist", GRAY);
             NDManager mgr = NDManager.newBaseManager()) {
            m.updateCard(c -> c.withTestAccuracy(0.5).withTraining(Map.of("epochs", 1)));
            ModelCard saved = m.save(dir);
            assertThat(saved.parametersSha256()).hasSize(64);
            NDArray x = mgr.randomUniform(-1, 1, new Shape(4, 1, 28, 28));
            float[] before = m.forward(x).get(0).toFloatArray();
            float[] logitsBefore = m.forward(x).get(1).toFloatArray();

            try (FeatureModel loaded = FeatureModels.load(dir)) {
                assertThat(loaded).isInstanceOf(DjlFeatureModel.class);
                assertThat(loaded.id()).isEqualTo(saved.parametersSha256());
                assertThat(loaded.card()).isEqualTo(saved);
                assertThat(loaded.card().testAccuracy()).isEqualTo(0.5);
                assertThat(loaded.features(x).toFloatArray()).containsExactly(before);
                assertThat(loaded.logits(x).toFloatArray()).containsExactly(logitsBefore);
                // Re-saving unchanged weights reproduces the same bytes, so the same teacher id.
                ModelCard again = ((DjlFeatureModel) loaded).save(tmp.resolve("copy"));
                assertThat(again.parametersSha256()).isEqualTo(saved.parametersSha256());
            }
            assertThat(m.save(dir).parametersSha256()).isEqualTo(saved.parametersSha256());
        }
        try (DjlFeatureModel other = DjlFeatureModel.create(Architecture.RESNET, 1, 28, 28, 10, "fashion-mnist", GRAY)) {
            assertThat(other.save(tmp.resolve("other")).parametersSha256())
                    .as("different random init, different id").isNotEqualTo(ModelCard.read(dir).parametersSha256());
        }
    }

    @Test
    void refusesWeightsThatDoNotMatchTheCard() throws IOException {
        Path dir = tmp.resolve("student");
        try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist", GRAY)) {
            m.save(dir);
        }
        byte[] params = Files.readAllBytes(dir.resolve(DjlFeatureModel.PARAMS_FILE));
        params[params.length - 1] ^= 1;
        Files.write(dir.resolve(DjlFeatureModel.PARAMS_FILE), params);
        assertThatThrownBy(() -> DjlFeatureModel.load(dir)).hasMessageContaining("SHA-256");
        assertThatThrownBy(() -> FeatureModels.load(tmp.resolve("none"))).hasMessageContaining("no model card");
    }
}
