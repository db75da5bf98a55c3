package io.kdstream.vkd;

import static io.kdstream.vkd.Compare.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The several-teacher objective against PyTorch (common/src/test/python/make_vkd_fixtures.py,
 * joint_*): 2–3 teachers of different d_t, each with its own orthogonal projection, weighted feature
 * losses, kd from one named teacher or from the mean of the teachers' softened probabilities.
 */
class JointDistillationLossTest {
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void close() {
        root.close();
    }

    static Stream<Arguments> fixtures() {
        List<Arguments> out = new ArrayList<>();
        for (String name : List.of("joint_three_from_run", "joint_two_mean", "joint_three_mean_partial")) {
            for (DataType dtype : List.of(DataType.FLOAT64, DataType.FLOAT32)) {
                out.add(Arguments.of(name, dtype));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixtures")
    void valuesAndGradientsMatchPyTorch(String name, DataType dtype) {
        Fixture f = Fixture.load(name);
        double tol = dtype == DataType.FLOAT64 ? 1e-9 : 1e-5;
        int n = Integer.parseInt(f.meta("teachers"));
        double[] weights = Arrays.stream(f.meta("weights").split(",")).mapToDouble(Double::parseDouble).toArray();
        String from = f.meta("logits_from");
        OrthogonalMap map = OrthogonalMap.fromTorchName(f.meta("map"));
        JointDistillationLoss loss = JointDistillationLoss.builder()
                .optFeatureLoss(FeatureLoss.fromConfigName(f.meta("feature_loss")))
                .optAlpha(Double.parseDouble(f.meta("alpha"))).optGamma(Double.parseDouble(f.meta("gamma")))
                .optTemperature(Double.parseDouble(f.meta("temperature")))
                .optLabelSmoothing(Double.parseDouble(f.meta("label_smoothing")))
                .optTeacherWeights(weights)
                .optLogitsFrom(from.equals("mean") ? JointDistillationLoss.LOGITS_MEAN : Integer.parseInt(from)).build();
        try (NDManager m = root.newSubManager()) {
            NDArray student = f.array(m, "student", dtype);
            NDArray sLogits = f.array(m, "student_logits", dtype);
            NDArray labels = m.create(f.longs("labels"));
            List<NDArray> xs = new ArrayList<>();
            List<NDArray> teachers = new ArrayList<>();
            List<NDArray> tLogits = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                NDArray x = f.array(m, "X" + i, dtype);
                x.setRequiresGradient(true);
                xs.add(x);
                teachers.add(f.array(m, "teacher" + i, dtype));
                tLogits.add(f.has("teacher_logits" + i) ? f.array(m, "teacher_logits" + i, dtype) : null);
            }
            student.setRequiresGradient(true);
            sLogits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                List<NDArray> projected = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    NDArray p = OrthogonalProjection.weight(m, xs.get(i), f.array(m, "base" + i, dtype), map,
                            OrthogonalProjection.Path.FAST);
                    assertClose(name + " P" + i, p, f.doubles("P" + i), tol);
                    projected.add(student.matMul(p.transpose()));
                }
                JointLossBreakdown r = loss.compute(projected, teachers, sLogits, labels, tLogits);
                assertClose(name + " ce", r.combined().ce(), f.doubles("ce"), tol);
                assertClose(name + " kd", r.combined().kd(), f.doubles("kd"), tol);
                assertClose(name + " feature (weighted sum)", r.combined().feature(), f.doubles("feature"), tol);
                assertClose(name + " total", r.combined().total(), f.doubles("total"), tol);
                assertThat(r.teacherFeatureValues()).as(name + " per-teacher features")
                        .containsExactly(f.doubles("features"), org.assertj.core.data.Offset.offset(tol));
                assertThat(f.doubles("kd")[0]).as("kd is exercised").isGreaterThan(1e-3);
                OrthogonalProjectionTest.churnNativeBuffers(); // see Scalars: constants must outlive a GC
                gc.backward(r.combined().total());
            }
            assertClose(name + " grad student", student.getGradient(), f.doubles("grad_student"), tol);
            assertClose(name + " grad student logits", sLogits.getGradient(), f.doubles("grad_student_logits"), tol);
            for (int i = 0; i < n; i++) {
                assertClose(name + " grad X" + i, xs.get(i).getGradient(), f.doubles("grad_X" + i), tol);
            }
        }
    }

    /** One teacher of weight 1 is the single-teacher objective, bit for bit, values and gradients. */
    @Test
    void oneTeacherOfWeightOneIsTheSingleTeacherLossExactly() {
        Fixture f = Fixture.load("losses");
        LossWeights w = new LossWeights(FeatureLoss.SMOOTH_L1, 0.7, 0.5, 4.0, 0.1);
        float[][] single = run(f, w, false);
        float[][] joint = run(f, w, true);
        for (int i = 0; i < single.length; i++) {
            assertThat(joint[i]).as("output %d", i).containsExactly(single[i]);
        }
    }

    /** total, ce, feature, kd, then the gradients of projected and student logits. */
    private static float[][] run(Fixture f, LossWeights w, boolean joint) {
        try (NDManager m = root.newSubManager()) {
            NDArray proj = f.array(m, "projected", DataType.FLOAT32);
            NDArray sLogits = f.array(m, "student_logits", DataType.FLOAT32);
            proj.setRequiresGradient(true);
            sLogits.setRequiresGradient(true);
            NDArray teacher = f.array(m, "teacher", DataType.FLOAT32);
            NDArray tLogits = f.array(m, "teacher_logits", DataType.FLOAT32);
            NDArray labels = m.create(f.longs("labels"));
            LossBreakdown l;
            float[][] out = new float[6][];
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                l = joint ? JointDistillationLoss.builder().optLossWeights(w).build()
                        .compute(List.of(proj), List.of(teacher), sLogits, labels, List.of(tLogits)).combined()
                        : DistillationLoss.builder().optLossWeights(w).build()
                        .compute(proj, teacher, sLogits, labels, tLogits);
                NDArray[] parts = {l.total(), l.ce(), l.feature(), l.kd()};
                for (int i = 0; i < parts.length; i++) {
                    out[i] = parts[i].toFloatArray();
                }
                gc.backward(l.total());
            }
            out[4] = proj.getGradient().toFloatArray();
            out[5] = sLogits.getGradient().toFloatArray();
            return out;
        }
    }

    @Test
    void kdFollowsTheNamedTeacherAndIsZeroWhenItHasNoLogits() {
        try (NDManager m = root.newSubManager()) {
            NDArray s = m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2));
            NDArray t = m.create(new float[] {1, 2, 3, 6}, new Shape(2, 2));
            NDArray sLogits = m.create(new float[] {0, 1, 2, 0, 1, 0}, new Shape(2, 3));
            NDArray labels = m.create(new long[] {1, 0});
            NDArray a = m.create(new float[] {3, 0, 0, 0, 3, 0}, new Shape(2, 3));
            NDArray b = m.create(new float[] {0, 0, 3, 0, 0, 3}, new Shape(2, 3));
            JointDistillationLoss.Builder builder = JointDistillationLoss.builder().optGamma(1).optTemperature(2)
                    .optTeacherWeights(0.25, 0.75);
            double fromB = builder.optLogitsFrom(1).build().compute(List.of(s, s), List.of(t, t), sLogits, labels,
                    Arrays.asList(a, b)).combined().values().get("kd");
            double expected = DistillationLoss.logitDistillation(sLogits, b, 2).toType(DataType.FLOAT64, false).getDouble();
            assertThat(fromB).isEqualTo(expected);
            LossBreakdown noLogits = builder.optLogitsFrom(0).build().compute(List.of(s, s), List.of(t, t), sLogits,
                    labels, Arrays.asList(null, b)).combined();
            assertThat(noLogits.values()).containsEntry("kd", 0.0).containsEntry("feature", 1.0);
        }
    }

    @Test
    void refusesWeightsAndShapesThatCannotBeAnObjective() {
        assertThatThrownBy(() -> JointDistillationLoss.builder().optTeacherWeights(0.5, -0.1).build())
                .hasMessageContaining(">= 0");
        assertThatThrownBy(() -> JointDistillationLoss.builder().optTeacherWeights(0, 0).build())
                .hasMessageContaining("all 0");
        assertThatThrownBy(() -> JointDistillationLoss.builder().optTeacherWeights(1, 1).optLogitsFrom(2).build())
                .hasMessageContaining("2 teachers");
        try (NDManager m = root.newSubManager()) {
            NDArray a = m.zeros(new Shape(2, 3));
            JointDistillationLoss two = JointDistillationLoss.builder().optTeacherWeights(1, 1).build();
            assertThatThrownBy(() -> two.compute(List.of(a), List.of(a), null, null, null))
                    .hasMessageContaining("per teacher (2)");
        }
    }
}
