package io.kdstream.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import io.kdstream.codec.PythonExamples;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.vkd.DistillationLoss;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.JointDistillationLoss;
import io.kdstream.vkd.JointLossBreakdown;
import io.kdstream.vkd.LossBreakdown;
import io.kdstream.vkd.OrthogonalMap;
import io.kdstream.vkd.OrthogonalProjection;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * kdstream_torch's VkD objective (python/kdstream_torch/vkd.py) and the Java student's agree on the
 * same inputs: python/tests/loss_fixture.py writes inputs, the raw projector parameter and its
 * losses; the student's own pieces (LayerNorm without affine, {@link OrthogonalProjection} on the
 * fast path, {@link DistillationLoss}) recompute them here, and {@code kdstream vkd-eval} the
 * feature loss with its gradients for the projector's parameter and the student features.
 */
class PythonVkdLossTest {

    @TempDir
    Path dir;

    @Test
    void pythonAndJavaLossesAgreeTo1e5() throws Exception {
        Prerequisites.assumeNull(Need.PYTORCH, PythonExamples.torchMissing());
        Path root = PythonExamples.script("ddp/train.py").getParent().getParent().getParent();
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON,
                root.resolve("python/tests/loss_fixture.py").toString(), dir.toString()).redirectErrorStream(true))) {
            p.assertSuccess(Duration.ofSeconds(120));
        }
        int checked = 0;
        int joint = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(x -> x.toString().endsWith(".safetensors")).sorted().toList()) {
                if (f.getFileName().toString().startsWith("joint_")) {
                    checkJoint(f);
                    joint++;
                } else {
                    check(f);
                    checkVkdEval(f);
                    checked++;
                }
            }
        }
        assertThat(checked).as("fixtures written").isEqualTo(2);
        assertThat(joint).as("several-teacher fixtures written").isEqualTo(2);
    }

    /**
     * Several teachers (issue 39): kdstream_torch's JointVkdLoss over one VkdHead per teacher, and
     * the Java student's pieces (one {@link OrthogonalProjection} per teacher on the standardized
     * embedding, {@link JointDistillationLoss}): losses, per-teacher feature losses and the gradients
     * of every projector's parameter, the embedding and the student logits agree to 1e-5.
     */
    private static void checkJoint(Path file) throws Exception {
        SafeTensors.Contents c = SafeTensors.read(file);
        Map<String, Tensor> t = c.tensors();
        Map<String, String> meta = c.metadata();
        int n = Integer.parseInt(meta.get("teachers"));
        String from = meta.get("logits_from");
        JointDistillationLoss loss = JointDistillationLoss.builder()
                .optFeatureLoss(FeatureLoss.fromConfigName(meta.get("feature_loss")))
                .optAlpha(Double.parseDouble(meta.get("alpha"))).optGamma(Double.parseDouble(meta.get("gamma")))
                .optTemperature(Double.parseDouble(meta.get("temperature")))
                .optLabelSmoothing(Double.parseDouble(meta.get("label_smoothing")))
                .optTeacherWeights(java.util.Arrays.stream(meta.get("weights").split(","))
                        .mapToDouble(Double::parseDouble).toArray())
                .optLogitsFrom(from.equals("mean") ? JointDistillationLoss.LOGITS_MEAN : Integer.parseInt(from)).build();
        OrthogonalMap map = OrthogonalMap.fromTorchName(meta.get("map"));
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray embedding = floats(m, t.get("embedding"));
            NDArray sLogits = floats(m, t.get("student_logits"));
            embedding.setRequiresGradient(true);
            sLogits.setRequiresGradient(true);
            java.util.List<NDArray> xs = new java.util.ArrayList<>();
            java.util.List<NDArray> teachers = new java.util.ArrayList<>();
            java.util.List<NDArray> tLogits = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                NDArray x = floats(m, t.get("X" + i));
                x.setRequiresGradient(true);
                xs.add(x);
                teachers.add(floats(m, t.get("teacher" + i)));
                Tensor logits = t.get("teacher_logits" + i);
                tLogits.add(logits == null ? null : floats(m, logits));
            }
            LayerNorm norm = LayerNorm.builder().axis(1).optCenter(false).optScale(false).build();
            norm.initialize(m, DataType.FLOAT32, embedding.getShape());
            JointLossBreakdown l;
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray standardized = norm.forward(new ParameterStore(m, false), new NDList(embedding), true)
                        .singletonOrThrow();
                java.util.List<NDArray> projected = new java.util.ArrayList<>();
                for (int i = 0; i < n; i++) {
                    NDArray p = OrthogonalProjection.weight(m, xs.get(i), floats(m, t.get("base" + i)), map,
                            OrthogonalProjection.Path.FAST);
                    projected.add(standardized.matMul(p.transpose()));
                }
                l = loss.compute(projected, teachers, sLogits, m.create(t.get("labels").toLongs()), tLogits);
                Map<String, Double> java = l.combined().values();
                for (String k : new String[] {"total", "ce", "feature", "kd"}) {
                    double python = t.get("loss_" + k).toDoubles()[0];
                    assertThat(java.get(k)).as("%s %s: Java vs Python", file.getFileName(), k)
                            .isCloseTo(python, org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.abs(python))));
                    assertThat(python).as("%s %s is exercised", file.getFileName(), k).isNotZero();
                }
                float[] each = new float[n];
                double[] values = l.teacherFeatureValues();
                for (int i = 0; i < n; i++) {
                    each[i] = (float) values[i];
                }
                assertClose(file.getFileName() + " per-teacher features", each, t.get("features").toFloats());
                gc.backward(l.combined().total());
            }
            assertClose(file.getFileName() + " grad embedding", embedding.getGradient().toFloatArray(),
                    t.get("grad_embedding").toFloats());
            assertClose(file.getFileName() + " grad student logits", sLogits.getGradient().toFloatArray(),
                    t.get("grad_student_logits").toFloats());
            for (int i = 0; i < n; i++) {
                assertClose(file.getFileName() + " grad X" + i, xs.get(i).getGradient().toFloatArray(),
                        t.get("grad_X" + i).toFloats());
            }
        }
    }

    private static void check(Path file) throws Exception {
        SafeTensors.Contents c = SafeTensors.read(file);
        Map<String, Tensor> t = c.tensors();
        Map<String, String> meta = c.metadata();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray embedding = floats(m, t.get("embedding"));
            LayerNorm norm = LayerNorm.builder().axis(1).optCenter(false).optScale(false).build();
            norm.initialize(m, DataType.FLOAT32, embedding.getShape());
            NDArray standardized = norm.forward(new ParameterStore(m, false), new NDList(embedding), false)
                    .singletonOrThrow();
            NDArray p = OrthogonalProjection.weight(m, floats(m, t.get("X")), floats(m, t.get("base")),
                    OrthogonalMap.fromTorchName(meta.get("map")), OrthogonalProjection.Path.FAST);
            assertClose(file + " P", p.toFloatArray(), t.get("P").toFloats());
            LossBreakdown l = DistillationLoss.builder()
                    .optFeatureLoss(FeatureLoss.fromConfigName(meta.get("feature_loss")))
                    .optAlpha(Double.parseDouble(meta.get("alpha"))).optGamma(Double.parseDouble(meta.get("gamma")))
                    .optTemperature(Double.parseDouble(meta.get("temperature")))
                    .optLabelSmoothing(Double.parseDouble(meta.get("label_smoothing"))).build()
                    .compute(standardized.matMul(p.transpose()), floats(m, t.get("teacher")),
                            floats(m, t.get("student_logits")), m.create(t.get("labels").toLongs()),
                            floats(m, t.get("teacher_logits")));
            Map<String, Double> java = l.values();
            for (String k : new String[] {"total", "ce", "feature", "kd"}) {
                double python = t.get("loss_" + k).toDoubles()[0];
                assertThat(java.get(k)).as("%s %s: Java vs Python", file.getFileName(), k)
                        .isCloseTo(python, org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.abs(python))));
                assertThat(python).as("%s %s is exercised", file.getFileName(), k).isNotZero();
            }
        }
    }

    /** The feature loss and its gradients through {@code kdstream vkd-eval}, the check an install runs. */
    private void checkVkdEval(Path file) throws Exception {
        SafeTensors.Contents c = SafeTensors.read(file);
        Map<String, Tensor> t = c.tensors();
        Path in = dir.resolve("vkd-eval-in.safetensors");
        Path out = dir.resolve("vkd-eval-out.safetensors");
        Map<String, Tensor> inputs = new java.util.LinkedHashMap<>();
        for (String k : new String[] {"X", "base", "student", "teacher"}) {
            inputs.put(k, t.get(k));
        }
        SafeTensors.write(in, inputs, Map.of());
        int exit = io.kdstream.cli.KdstreamCommand.commandLine().execute("vkd-eval", "--in", in.toString(), "--out",
                out.toString(), "--map", c.metadata().get("map"), "--loss", c.metadata().get("feature_loss"),
                "--norm", "none");
        assertThat(exit).as("vkd-eval exit code").isZero();
        Map<String, Tensor> r = SafeTensors.read(out).tensors();
        assertThat(r.get("loss").toDoubles()[0]).as("%s vkd-eval loss", file.getFileName())
                .isCloseTo(t.get("feature_only").toDoubles()[0], org.assertj.core.data.Offset.offset(1e-5));
        for (String k : new String[] {"P", "grad_X", "grad_student"}) {
            assertClose(file.getFileName() + " vkd-eval " + k, r.get(k).toFloats(), t.get(k).toFloats());
        }
    }

    private static NDArray floats(NDManager m, Tensor t) {
        return m.create(t.toFloats(), new Shape(java.util.Arrays.stream(t.shape()).asLongStream().toArray()));
    }

    private static void assertClose(String what, float[] actual, float[] expected) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            assertThat(actual[i]).as("%s[%d]", what, i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }
}
