package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.Tensor;
import io.kdstream.manifest.RunSpec;
import io.kdstream.model.Architecture;
import io.kdstream.vkd.Normalization;

/** A student of several teachers (issue 39): its heads, their parameters and checkpoints, and the refusals. */
class TeacherHeadsTest {

    private static final RunSpec VIT = run("vit-run", 96, 10);
    private static final RunSpec CNN = run("cnn-run", 40, 0);

    @TempDir
    Path dir;

    @Test
    void eachHeadProjectsIntoItsTeachersWidthUnderParametersNamedByItsRun() {
        StudentConfig cfg = config().build();
        try (StudentModel two = new StudentModel(cfg, VIT, TeacherHead.forRuns(cfg, List.of(VIT, CNN)), null);
             StudentModel one = new StudentModel(cfg, VIT)) {
            Map<String, Tensor> state = two.stateTensors();
            assertThat(state.keySet().stream().filter(k -> k.startsWith("param/proj/")))
                    .isNotEmpty().allMatch(k -> k.startsWith("param/proj/vit-run/") || k.startsWith("param/proj/cnn-run/"));
            // the raw parameter of nn.Linear(d_s, d_t)'s orthogonal weight is [d_t, d_s]
            assertThat(state.get("param/proj/vit-run/original").shape()[0]).isEqualTo(96);
            assertThat(state.get("param/proj/cnn-run/original").shape()[0]).isEqualTo(40);
            // one run: the names single-run checkpoints have always had
            assertThat(one.stateTensors()).containsKey("param/proj/original").doesNotContainKey("param/proj/vit-run/original");
            assertThat(one.teacherHeads()).containsExactly(new TeacherHead("vit-run", 96, 1.0, true));
        }
    }

    @Test
    void theFeatureTermIsTheWeightedSumAndEveryHeadLearns() {
        StudentConfig cfg = config().optTeacherWeight("vit-run", 0.8).optTeacherWeight("cnn-run", 0.3).optLr(3e-3)
                .build();
        try (StudentModel model = new StudentModel(cfg, VIT, TeacherHead.forRuns(cfg, List.of(VIT, CNN)), null);
             NDManager data = model.manager().newSubManager()) {
            NDArray x = data.randomNormal(new Shape(16, 1, 28, 28));
            NDArray y = data.randomInteger(0, 10, new Shape(16), DataType.INT64);
            List<NDArray> t = List.of(data.randomNormal(new Shape(16, 96)), data.randomNormal(new Shape(16, 40)));
            List<Double> first = null;
            StudentModel.StepResult r = null;
            for (int i = 0; i < 30; i++) {
                try (NDManager step = model.manager().newSubManager()) {
                    r = model.step(step, x, y, t, Arrays.asList(null, null), 3e-3);
                    assertThat(r.applied()).isTrue();
                    assertThat(r.feature()).isCloseTo(0.8 * r.teacherFeatures().get(0) + 0.3 * r.teacherFeatures().get(1),
                            Offset.offset(1e-5));
                    first = first == null ? r.teacherFeatures() : first;
                }
            }
            for (int h = 0; h < 2; h++) {
                assertThat(r.teacherFeatures().get(h)).as("head %d after 30 steps", h).isLessThan(first.get(h) * 0.9);
            }
            assertThat(model.orthogonalityError()).isLessThan(1e-4);
        }
    }

    @Test
    void aCheckpointOfTwoHeadsResumesBitExactlyThroughTheDisk() throws Exception {
        StudentConfig cfg = config().optGamma(1).build();
        List<TeacherHead> heads = TeacherHead.forRuns(cfg, List.of(VIT, CNN));
        float[] expected;
        try (StudentModel a = new StudentModel(cfg, VIT, heads, null)) {
            for (int i = 0; i < 3; i++) {
                step(a, i);
            }
            Checkpoint c = TrainingState.fresh(1, 1, 8).toCheckpoint(a.stateTensors(), a.optimizerUpdates(),
                    new TrainingState.Experiment("vit-run", "t", "g", cfg.toString()));
            new CheckpointStore(dir, 1).save(c);
            assertThat(c.tensors()).containsKeys("opt/proj/vit-run/original/m", "opt/proj/cnn-run/original/m");
            expected = step(a, 3);
        }
        Checkpoint back = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        try (StudentModel b = new StudentModel(config().optGamma(1).optSeed(9).build(), VIT, heads, null)) {
            b.loadState(back.tensors(), TrainingState.from(back).optimizerUpdates());
            assertThat(step(b, 3)).as("the step after the restore").containsExactly(expected);
        }
        // a single-run checkpoint does not fit a student of two runs: refused, naming the parameter
        try (StudentModel one = new StudentModel(cfg, VIT);
             StudentModel two = new StudentModel(cfg, VIT, heads, null)) {
            assertThatThrownBy(() -> two.loadState(one.stateTensors(), 0))
                    .hasMessageContaining("parameter proj/vit-run/original is missing");
        }
    }

    @Test
    void weightsDefaultToEqualAndAreUsedAsGiven() {
        assertThat(TeacherHead.forRuns(config().build(), List.of(VIT, CNN))).extracting(TeacherHead::weight)
                .containsExactly(0.5, 0.5);
        assertThat(TeacherHead.forRuns(config().optTeacherWeight("cnn-run", 2).optTeacherWeight("vit-run", 0).build(),
                List.of(VIT, CNN))).containsExactly(new TeacherHead("vit-run", 96, 0, true),
                new TeacherHead("cnn-run", 40, 2, false));
    }

    @Test
    void refusesWeightsAndLogitSourcesTheRunsCannotServe() {
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optTeacherWeight("resnet", 1).build(), List.of(VIT, CNN)))
                .hasMessage("--teacher-weight names resnet, not a run this student joins (--run vit-run, cnn-run)");
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optTeacherWeight("vit-run", 1).build(), List.of(VIT, CNN)))
                .hasMessageContaining("no weight for run cnn-run");
        assertThatThrownBy(() -> config().optTeacherWeight("vit-run", -1).build()).hasMessageContaining("W >= 0");
        assertThatThrownBy(() -> config().optTeacherWeight("vit-run", 0).optTeacherWeight("cnn-run", 0).build())
                .hasMessageContaining("every run weight 0");
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optGamma(1).optLogitsFrom("cnn-run").build(),
                List.of(VIT, CNN))).hasMessageContaining("run cnn-run carries no teacher logits (runs with logits: vit-run)");
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optLogitsFrom("resnet").build(), List.of(VIT, CNN)))
                .hasMessageContaining("--logits-from resnet is not a run this student joins");
        RunSpec noLogits = run("other", 40, 0);
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optGamma(1).build(), List.of(CNN, noLogits)))
                .hasMessageStartingWith("none of runs cnn-run, other carries no teacher logits, so --gamma 1.0");
        assertThatThrownBy(() -> TeacherHead.forRuns(config().optGamma(1).build(), List.of(CNN)))
                .hasMessageStartingWith("run cnn-run carries no teacher logits, so --gamma 1.0");
        assertThatThrownBy(() -> TeacherHead.forRuns(config().build(), List.of(VIT, VIT)))
                .hasMessageContaining("--run vit-run is given twice");
        // gamma 0: a run without logits is fine, and so is mean over runs that have none
        assertThat(TeacherHead.forRuns(config().optLogitsFrom("cnn-run").build(), List.of(VIT, CNN))).hasSize(2);
        StudentConfig none = config().optProjection(Projection.NONE).build();
        assertThatThrownBy(() -> new StudentModel(none, VIT, TeacherHead.forRuns(none, List.of(VIT, CNN)), null))
                .hasMessageContaining("d_s = d_t").hasMessageContaining("of run vit-run");
    }

    /** One step on fixed data from {@code seed}; returns the projected losses and the heads' parameters after it. */
    private static float[] step(StudentModel model, int seed) {
        try (NDManager step = model.manager().newSubManager()) {
            java.util.Random r = new java.util.Random(seed);
            NDArray x = step.create(floats(r, 16 * 28 * 28), new Shape(16, 1, 28, 28));
            NDArray y = step.create(r.ints(16, 0, 10).asLongStream().toArray());
            NDArray t1 = step.create(floats(r, 16 * 96), new Shape(16, 96));
            NDArray t2 = step.create(floats(r, 16 * 40), new Shape(16, 40));
            NDArray l1 = step.create(floats(r, 16 * 10), new Shape(16, 10));
            StudentModel.StepResult res = model.step(step, x, y, List.of(t1, t2), Arrays.asList(l1, null), 1e-3);
            Map<String, Tensor> s = model.stateTensors();
            float[] a = s.get("param/proj/vit-run/original").toFloats();
            float[] b = s.get("param/proj/cnn-run/original").toFloats();
            float[] out = Arrays.copyOf(new float[] {(float) res.total(), (float) res.kd(),
                    res.teacherFeatures().get(0).floatValue(), res.teacherFeatures().get(1).floatValue()},
                    4 + a.length + b.length);
            System.arraycopy(a, 0, out, 4, a.length);
            System.arraycopy(b, 0, out, 4 + a.length, b.length);
            return out;
        }
    }

    private static float[] floats(java.util.Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    private static RunSpec run(String id, int dt, int logits) {
        return RunSpec.builder().setRunId(id).setSource("synthetic", 10, List.of(1, 28, 28)).setTeacher("t", "pool")
                .setFeatures(dt, Normalization.LAYER, DType.F16).optLogitClasses(logits).setStream(16, 1, 1, 1L).build();
    }

    /** An mlp student, constant learning rate 1e-3 without weight decay or warm-up, seed 1. */
    private static StudentConfig.Builder config() {
        return StudentConfig.builder().optArch(Architecture.MLP).optLr(1e-3).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(1L);
    }
}
