package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.manifest.RunSpec;
import io.kdstream.model.Architecture;
import io.kdstream.vkd.Normalization;

/**
 * Issue 39 item 4: the exported student is the student alone (zoo export and {@code student.pt}
 * are the same whatever the number of teachers); the projections export separately on request.
 */
class ProjectorExportTest {

    private static final RunSpec VIT = run("vit-run", 96);
    private static final RunSpec CNN = run("cnn-run", 40);

    @TempDir
    Path dir;

    @Test
    void eachTeachersOrthogonalProjectionIsWrittenAsItsMatrixKeyedByRun() throws IOException {
        StudentConfig cfg = mlp().optStudentNorm(Normalization.LAYER).build();
        Path ck = checkpoint(cfg, List.of(VIT, CNN), dir.resolve("two"));
        Path out = dir.resolve("projectors.safetensors");
        ProjectorExport.Result r = ProjectorExport.export(ck, out);
        assertThat(r.runs()).containsExactly("cnn-run", "vit-run");
        SafeTensors.Contents c = SafeTensors.read(out);
        assertThat(c.tensors()).containsOnlyKeys("cnn-run.weight", "vit-run.weight");
        assertThat(c.metadata()).containsEntry("projection", "matrix_exp").containsEntry("student_norm", "layer")
                .containsEntry("runs", "cnn-run,vit-run");
        int ds = c.tensors().get("vit-run.weight").shape()[1];
        assertThat(c.tensors().get("vit-run.weight").shape()).containsExactly(96, ds);
        assertThat(c.tensors().get("cnn-run.weight").shape()).containsExactly(40, ds);
        // P itself, not its raw parameter: orthonormal along its shorter side
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (Tensor t : c.tensors().values()) {
                NDArray p = m.create(t.toFloats(), new Shape(t.shape()[0], t.shape()[1]));
                NDArray gram = t.shape()[0] >= t.shape()[1] ? p.transpose().matMul(p) : p.matMul(p.transpose());
                float err = gram.sub(m.eye((int) gram.getShape().get(0))).abs().max().getFloat();
                assertThat(err).as("|gram - I| of a %s projection", Arrays.toString(t.shape())).isLessThan(1e-4f);
            }
        }
    }

    @Test
    void oneRunsProjectionIsKeyedByItsRunAndALinearOneIsItsWeight() throws IOException {
        StudentConfig cfg = mlp().optProjection(Projection.LINEAR).build();
        Path ck = checkpoint(cfg, List.of(VIT), dir.resolve("one"));
        Path out = dir.resolve("p.safetensors");
        ProjectorExport.export(ck, out);
        Map<String, Tensor> written = SafeTensors.read(out).tensors();
        assertThat(written).containsOnlyKeys("vit-run.weight");
        assertThat(written.get("vit-run.weight").toFloats())
                .containsExactly(CheckpointStore.read(ck).tensors().get("param/proj/weight").toFloats());
        Path none = checkpoint(mlp().optProjection(Projection.NONE).build(), List.of(run("wide", 64)),
                dir.resolve("none"));
        assertThatThrownBy(() -> ProjectorExport.export(none, dir.resolve("x.safetensors")))
                .hasMessageContaining("--projection none").hasMessageContaining("no projection to export");
    }

    @Test
    void theExportedStudentIsTheSameWhateverTheNumberOfTeachers() throws IOException {
        Path one = ZooExport.export(checkpoint(mlp().build(), List.of(VIT), dir.resolve("a")), dir.resolve("a.st"))
                .source();
        Path two = ZooExport.export(checkpoint(mlp().build(), List.of(VIT, CNN), dir.resolve("b")),
                dir.resolve("b.st")).source();
        assertThat(one).isNotEqualTo(two);
        Map<String, Tensor> a = SafeTensors.read(dir.resolve("a.st")).tensors();
        Map<String, Tensor> b = SafeTensors.read(dir.resolve("b.st")).tensors();
        assertThat(b.keySet()).isEqualTo(a.keySet()).noneMatch(k -> k.contains("proj"));
        b.forEach((k, t) -> assertThat(t.shape()).as(k).containsExactly(a.get(k).shape()));
        // a TorchScript student of two teachers trains and is written back as the module alone
        StudentConfig ts = TorchScriptStudentTest.config("tiny_student.pt", "features,logits").build();
        try (StudentModel model = new StudentModel(ts, VIT, TeacherHead.forRuns(ts, List.of(VIT, CNN)), null);
             NDManager step = model.manager().newSubManager()) {
            NDArray x = step.randomNormal(new Shape(16, 1, 28, 28));
            NDArray y = step.randomInteger(0, 10, new Shape(16), DataType.INT64);
            List<NDArray> t = List.of(step.randomNormal(new Shape(16, 96)), step.randomNormal(new Shape(16, 40)));
            assertThat(model.step(step, x, y, t, Arrays.asList(null, null), 1e-3).applied()).isTrue();
            Path pt = model.exportStudent(Files.createDirectories(dir.resolve("ts")));
            assertThat(pt.getFileName()).hasToString("student.pt");
            assertThat(parameterNames(pt)).as("student.pt's parameters")
                    .isEqualTo(parameterNames(TorchScriptStudentTest.fixture("tiny_student.pt")));
        }
    }

    private static List<String> parameterNames(Path pt) {
        try (ai.djl.pytorch.engine.PtNDManager m = (ai.djl.pytorch.engine.PtNDManager) NDManager.newBaseManager("PyTorch");
             ai.djl.pytorch.engine.PtSymbolBlock block = TorchScriptStudent.open(pt, m)) {
            return block.getParameters().keys();
        }
    }

    /** A checkpoint of an untrained-but-stepped student of {@code runs}; returns its file. */
    private static Path checkpoint(StudentConfig cfg, List<RunSpec> runs, Path into) throws IOException {
        try (StudentModel model = new StudentModel(cfg, runs.get(0), TeacherHead.forRuns(cfg, runs), null);
             NDManager step = model.manager().newSubManager()) {
            NDArray x = step.randomNormal(new Shape(16, 1, 28, 28));
            NDArray y = step.randomInteger(0, 10, new Shape(16), DataType.INT64);
            List<NDArray> t = runs.stream().map(r -> step.randomNormal(new Shape(16, r.featureDim()))).toList();
            model.step(step, x, y, t, Arrays.asList(new NDArray[runs.size()]), 1e-2);
            Checkpoint c = TrainingState.fresh(1, 1, 4).toCheckpoint(model.stateTensors(), model.optimizerUpdates(),
                    new TrainingState.Experiment(runs.get(0).runId(), "t", "g", cfg.toString()));
            return new CheckpointStore(into, 1).save(c);
        }
    }

    private static RunSpec run(String id, int dt) {
        return RunSpec.builder().setRunId(id).setSource("synthetic", 10, List.of(1, 28, 28)).setTeacher("t", "pool")
                .setFeatures(dt, Normalization.LAYER, DType.F16).setStream(16, 1, 1, 1L).build();
    }

    private static StudentConfig.Builder mlp() {
        return StudentConfig.builder().optArch(Architecture.MLP).optLr(1e-2).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(1L);
    }
}
