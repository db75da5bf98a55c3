package io.kdstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kdstream.data.InputNormalization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fixtures come from common/src/test/python/make_torchscript_fixture.py (Debian torch 1.13). */
class TorchScriptFeatureModelTest {
    private static final InputNormalization NORM = new InputNormalization(new float[] {0.286f}, new float[] {0.353f});
    private static JsonNode expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void readExpected() throws IOException {
        try (InputStream in = resource("tiny_expected.json")) {
            expected = new ObjectMapper().readTree(in);
        }
    }

    @Test
    void tracedTeacherReturningFeaturesAndLogitsMatchesPyTorch() throws IOException {
        Path pt = copy("tiny_features_logits.pt");
        ModelCard card = TorchScriptFeatureModel.importFile(pt, "features,logits", 1, 28, 28, "fashion-mnist", NORM,
                tmp.resolve("teacher"));
        assertThat(card.featureDim()).isEqualTo(16);
        assertThat(card.numClasses()).isEqualTo(10);
        assertThat(card.parametersSha256()).isEqualTo(DjlFeatureModel.sha256(Files.readAllBytes(pt)));

        try (FeatureModel teacher = FeatureModels.load(tmp.resolve("teacher"));
             NDManager m = NDManager.newBaseManager()) {
            assertThat(teacher).isInstanceOf(TorchScriptFeatureModel.class);
            assertThat(teacher.id()).isEqualTo(card.parametersSha256());
            NDList out = teacher.forward(fixedInput(m));
            assertThat(out.get(0).getShape()).isEqualTo(new Shape(3, 16));
            assertThat(out.get(1).getShape()).isEqualTo(new Shape(3, 10));
            assertClose(out.get(0), expected.get("features"));
            assertClose(out.get(1), expected.get("logits"));
            assertClose(teacher.features(fixedInput(m)), expected.get("features"));
        }
    }

    /** The teacher loads a .pt at every start: once, writing nothing, with the card an import would write. */
    @Test
    void loadFileGivesTheImportedCardAndWritesNothing() throws IOException {
        Path pt = copy("tiny_features_logits.pt");
        ModelCard imported = TorchScriptFeatureModel.importFile(pt, "features,logits", 1, 28, 28, "fashion-mnist",
                NORM, tmp.resolve("imported"));
        try (var before = Files.list(pt.getParent())) {
            List<Path> files = before.toList();
            try (FeatureModel teacher = TorchScriptFeatureModel.loadFile(pt, "features,logits", 1, 28, 28,
                    "fashion-mnist", NORM, ai.djl.Device.cpu()); NDManager m = NDManager.newBaseManager()) {
                assertThat(teacher.card()).usingRecursiveComparison().ignoringFields("file").isEqualTo(imported);
                assertClose(teacher.features(fixedInput(m)), expected.get("features"));
                try (var after = Files.list(pt.getParent())) {
                    assertThat(after.toList()).containsExactlyInAnyOrderElementsOf(files);
                }
            }
        }
    }

    @Test
    void scriptedFeatureMapIsPooledAndHasNoLogits() throws IOException {
        Path pt = copy("tiny_features_map.pt");
        ModelCard card = TorchScriptFeatureModel.importFile(pt, "features", 1, 28, 28, "fashion-mnist", NORM,
                tmp.resolve("map"));
        assertThat(card.featureDim()).isEqualTo(16);
        assertThat(card.numClasses()).isZero();
        try (FeatureModel teacher = TorchScriptFeatureModel.load(tmp.resolve("map"));
             NDManager m = NDManager.newBaseManager()) {
            NDArray f = teacher.features(fixedInput(m));
            assertThat(f.getShape()).isEqualTo(new Shape(3, 16));
            assertClose(f, expected.get("pooled_feature_map"));
            assertThatThrownBy(() -> teacher.logits(fixedInput(m))).hasMessageContaining("no logits");
        }
    }

    @Test
    void wrongOutputLayoutFailsAtImportWithAClearMessage() throws IOException {
        Path pt = copy("tiny_features_map.pt");
        assertThatThrownBy(() -> TorchScriptFeatureModel.importFile(pt, "features,logits", 1, 28, 28, "x", NORM,
                tmp.resolve("bad")))
                .hasMessageContaining("returned 1 outputs")
                .hasMessageContaining("features,logits");
        assertThatThrownBy(() -> TorchScriptFeatureModel.parseOutputs("logits")).hasMessageContaining("bad TorchScript outputs");
        assertThat(TorchScriptFeatureModel.parseOutputs("logits,features")).containsExactly(1, 0, 2);
        assertThatThrownBy(() -> TorchScriptFeatureModel.importFile(tmp.resolve("missing.pt"), "features", 1, 28, 28,
                "x", NORM, tmp.resolve("m"))).hasMessageContaining("does not exist");
    }

    private static NDArray fixedInput(NDManager m) {
        float[] x = new float[3 * 28 * 28];
        for (int b = 0; b < 3; b++) {
            for (int h = 0; h < 28; h++) {
                for (int w = 0; w < 28; w++) {
                    x[b * 784 + h * 28 + w] = ((b * 7 + h * 3 + w * 5) % 17) / 16f - 0.5f;
                }
            }
        }
        return m.create(x, new Shape(3, 1, 28, 28));
    }

    private static void assertClose(NDArray actual, JsonNode want) {
        float[] a = actual.toFloatArray();
        assertThat(a).hasSize(want.size());
        for (int i = 0; i < a.length; i++) {
            assertThat((double) a[i]).as("element %d", i).isCloseTo(want.get(i).asDouble(), within(1e-5));
        }
    }

    private Path copy(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = resource(name)) {
            Files.copy(in, p);
        }
        return p;
    }

    private static InputStream resource(String name) {
        InputStream in = TorchScriptFeatureModelTest.class.getResourceAsStream("/model/" + name);
        if (in == null) {
            throw new IllegalStateException("missing test resource /model/" + name
                    + "; regenerate with common/src/test/python/make_torchscript_fixture.py");
        }
        return in;
    }

}
