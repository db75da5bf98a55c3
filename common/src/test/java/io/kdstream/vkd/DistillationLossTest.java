package io.kdstream.vkd;

import static io.kdstream.vkd.Compare.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.kdstream.autograd.Scalars;

class DistillationLossTest {
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void close() {
        root.close();
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT64", "FLOAT32"})
    void componentsAndGradientsMatchPyTorch(DataType dtype) {
        Fixture f = Fixture.load("losses");
        double tol = dtype == DataType.FLOAT64 ? 1e-12 : 1e-5;
        try (NDManager m = root.newSubManager()) {
            NDArray proj = f.array(m, "projected", dtype);
            NDArray teacher = f.array(m, "teacher", dtype);
            NDArray sLogits = f.array(m, "student_logits", dtype);
            NDArray tLogits = f.array(m, "teacher_logits", dtype);
            NDArray labels = m.create(f.longs("labels"));
            assertClose("l2", FeatureLoss.L2.compute(proj, teacher), f.doubles("l2"), tol);
            assertClose("smooth_l1", FeatureLoss.SMOOTH_L1.compute(proj, teacher), f.doubles("smooth_l1"), tol);
            assertClose("ce", DistillationLoss.crossEntropy(sLogits, labels, 0), f.doubles("ce"), tol);

            DistillationLoss loss = DistillationLoss.builder()
                    .optFeatureLoss(FeatureLoss.fromConfigName(f.meta("feature_loss")))
                    .optAlpha(Double.parseDouble(f.meta("alpha")))
                    .optGamma(Double.parseDouble(f.meta("gamma")))
                    .optTemperature(Double.parseDouble(f.meta("temperature")))
                    .optLabelSmoothing(Double.parseDouble(f.meta("label_smoothing")))
                    .build();
            proj.setRequiresGradient(true);
            sLogits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                LossBreakdown r = loss.compute(proj, teacher, sLogits, labels, tLogits);
                assertClose("ce smoothed", r.ce(), f.doubles("ce_smoothed"), tol);
                assertClose("feature", r.feature(), f.doubles("smooth_l1"), tol);
                assertClose("kd", r.kd(), f.doubles("kd"), tol);
                assertClose("total", r.total(), f.doubles("total"), tol);
                // Constants take the loss's dtype: a float32 loss must not be promoted to float64.
                assertThat(List.of(r.total(), r.ce(), r.feature(), r.kd())).extracting(NDArray::getDataType)
                        .containsOnly(dtype);
                Map<String, Double> values = r.values();
                assertThat(values).containsOnlyKeys("ce", "feature", "kd", "total");
                assertThat(values.get("kd")).isCloseTo(f.doubles("kd")[0], org.assertj.core.data.Offset.offset(1e-4));
                OrthogonalProjectionTest.churnNativeBuffers(); // see Scalars: constants must outlive a GC
                gc.backward(r.total());
            }
            assertClose("grad projected", proj.getGradient(), f.doubles("grad_projected"), tol);
            assertClose("grad student logits", sLogits.getGradient(), f.doubles("grad_student_logits"), tol);
        }
    }

    @Test
    void absentLogitsGiveZeroComponents() {
        try (NDManager m = root.newSubManager()) {
            NDArray a = m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2));
            NDArray b = m.create(new float[] {1, 2, 3, 6}, new Shape(2, 2));
            LossBreakdown r = DistillationLoss.builder().optAlpha(2).optGamma(1).build().compute(a, b, null, null, null);
            assertThat(r.values()).containsEntry("ce", 0.0).containsEntry("kd", 0.0)
                    .containsEntry("feature", 1.0).containsEntry("total", 2.0);
        }
    }

    @Test
    void rejectsBadInput() {
        try (NDManager m = root.newSubManager()) {
            NDArray logits = m.zeros(new Shape(2, 3));
            assertThatThrownBy(() -> DistillationLoss.crossEntropy(logits, m.create(new long[] {0, 3}), 0))
                    .hasMessageContaining("[0, 3)");
            assertThatThrownBy(() -> DistillationLoss.crossEntropy(logits, m.create(new long[] {0}), 0))
                    .hasMessageContaining("labels must be [2]");
            assertThatThrownBy(() -> DistillationLoss.logitDistillation(logits, m.zeros(new Shape(2, 4)), 2))
                    .hasMessageContaining("[B, C]");
            assertThatThrownBy(() -> FeatureLoss.L2.compute(logits, m.zeros(new Shape(3, 2))))
                    .hasMessageContaining("differ in shape");
            assertThatThrownBy(() -> DistillationLoss.builder().optTemperature(0).build())
                    .hasMessageContaining("temperature");
        }
    }
}
