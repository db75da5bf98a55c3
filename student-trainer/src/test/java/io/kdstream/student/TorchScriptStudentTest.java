package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.vkd.Normalization;

/**
 * A TorchScript student (src/test/python/make_student_fixtures.py: a tiny CNN with a BatchNorm, a
 * Dropout and one frozen parameter, d_s = 24) trained through the same {@link StudentModel} as a
 * zoo student.
 */
class TorchScriptStudentTest {

    static final RunSpec RUN = RunSpec.builder().setRunId("unit").setSource("synthetic", 10, List.of(1, 28, 28))
            .setTeacher("t", "pool").setFeatures(96, Normalization.LAYER, DType.F16)
            .setStream(16, 1, 1, 1L).build();
    private static final String FROZEN = "param/student/offset";

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(TorchScriptStudentTest.class.getResource("/student/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static StudentConfig.Builder config(String file, String outputs) {
        return StudentConfig.builder().optTorchScriptStudent(fixture(file), outputs).optLr(1e-2).optWeightDecay(0)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(3L);
    }

    /** Batch {@code i} of a fixed synthetic stream: inputs, labels, teacher features. */
    static StudentModel.StepResult step(StudentModel model, int i, double lr) {
        // drawn in Java: seeding libtorch here would also fix the Dropout masks and hide a resume bug
        java.util.Random random = new java.util.Random(1000 + i);
        try (NDManager step = model.manager().newSubManager()) {
            NDArray x = step.create(gaussians(random, 16 * 28 * 28), new Shape(16, 1, 28, 28));
            long[] labels = new long[16];
            for (int k = 0; k < labels.length; k++) {
                labels[k] = random.nextInt(10);
            }
            NDArray y = step.create(labels);
            NDArray t = step.create(gaussians(random, 16 * 96), new Shape(16, 96));
            StudentModel.StepResult r = model.step(step, x, y, t, null, lr);
            assertThat(r.applied()).isTrue();
            return r;
        }
    }

    private static float[] gaussians(java.util.Random random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    /** Logits in evaluation mode on a fixed input (x[b,0,h,w] = ((b*7 + h*3 + w*5) % 17) / 16 - 0.5). */
    static float[] evalLogits(StudentModel model) {
        try (NDManager sub = model.manager().newSubManager()) {
            return model.student().forward(new ParameterStore(sub, false), fixedInput(sub, 4), false, 0).get(1)
                    .toFloatArray();
        }
    }

    static NDArray fixedInput(NDManager m, int batch) {
        float[] x = new float[batch * 28 * 28];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < 28; h++) {
                for (int w = 0; w < 28; w++) {
                    x[(b * 28 + h) * 28 + w] = ((b * 7 + h * 3 + w * 5) % 17) / 16f - 0.5f;
                }
            }
        }
        return m.create(x, new Shape(batch, 1, 28, 28));
    }

    private static Map<String, float[]> studentParams(StudentModel model) {
        Map<String, float[]> out = new java.util.TreeMap<>();
        model.stateTensors().forEach((k, t) -> {
            if (k.startsWith("param/student/")) {
                out.put(k, t.toFloats());
            }
        });
        return out;
    }

    @Test
    void trainingChangesEveryTrainableParameterAndNeverTheFrozenOne() {
        try (StudentModel model = new StudentModel(config("tiny_student.pt", "features,logits").build(), RUN)) {
            assertThat(((TorchScriptStudent) model.student()).frozenParameters()).containsExactly("offset");
            assertThat(model.student().featureDim()).isEqualTo(24);
            Map<String, float[]> before = studentParams(model);
            assertThat(before).containsKeys(FROZEN, "param/student/bn.weight", "param/student/head.bias");
            for (int i = 0; i < 4; i++) {
                step(model, i, 1e-2);
                evalLogits(model); // evaluation between steps: going back to training must not un-freeze
            }
            Map<String, float[]> after = studentParams(model);
            for (String name : before.keySet()) {
                if (name.equals(FROZEN)) {
                    assertThat(after.get(name)).as("frozen %s", name).isEqualTo(before.get(name));
                } else {
                    assertThat(after.get(name)).as("trainable %s", name).isNotEqualTo(before.get(name));
                }
            }
            assertThat(model.stateTensors().keySet().stream().filter(k -> k.startsWith("opt/student/offset")))
                    .as("no optimizer state for the frozen parameter").isEmpty();
        }
    }

    @Test
    void batchNormStatisticsMoveInTrainingAndNotInEvaluation() {
        try (StudentModel model = new StudentModel(config("tiny_student.pt", "features,logits").build(), RUN)) {
            float[] first = evalLogits(model);
            assertThat(evalLogits(model)).as("evaluation leaves the running statistics alone").isEqualTo(first);
            Map<String, float[]> params = studentParams(model);
            step(model, 0, 0.0); // lr 0: the weights stay, only the running statistics can move
            assertThat(studentParams(model)).usingRecursiveComparison().isEqualTo(params);
            assertThat(evalLogits(model)).as("a training forward updates the running statistics")
                    .isNotEqualTo(first);
        }
    }

    @Test
    void theExportedStudentPtCarriesTheTrainedWeightsAndBuffers() throws Exception {
        try (StudentModel model = new StudentModel(config("tiny_student.pt", "features,logits").build(), RUN)) {
            for (int i = 0; i < 3; i++) {
                step(model, i, 1e-2);
            }
            float[] trained = evalLogits(model);
            Path file = model.exportStudent(tmp);
            assertThat(file).isEqualTo(tmp.resolve("student.pt"));
            assertThat(tmp.resolve(".student.pt.tmp")).doesNotExist();
            try (StudentModel reloaded = new StudentModel(StudentConfig.builder()
                    .optTorchScriptStudent(file, "features,logits").build(), RUN)) {
                float[] back = evalLogits(reloaded);
                assertThat(back.length).isEqualTo(trained.length);
                for (int i = 0; i < back.length; i++) {
                    assertThat(back[i]).as("logit %d", i).isCloseTo(trained[i], Offset.offset(1e-5f));
                }
                assertThat(((TorchScriptStudent) reloaded.student()).frozenParameters())
                        .as("saved with the frozen parameter still frozen").containsExactly("offset");
            }
            try (PtNDManager m = (PtNDManager) NDManager.newBaseManager("PyTorch")) {
                PtSymbolBlock b = JniUtils.loadModule(m, file, true, new String[0], new String[0], false);
                assertThat(JniUtils.moduleGetParams(b, m).stream()
                        .filter(p -> p.getName().equals("offset")).allMatch(p -> !JniUtils.requiresGrad((PtNDArray) p)))
                        .isTrue();
                b.close();
            }
        }
    }

    @Test
    void aRestoredCheckpointContinuesBitForBitAsAnUninterruptedRun() throws Exception {
        StudentConfig cfg = config("tiny_student.pt", "features,logits").build();
        CheckpointStore store = new CheckpointStore(tmp.resolve("ckpt"), 2);
        Map<String, Tensor> uninterrupted;
        float[] uninterruptedLogits;
        try (StudentModel a = new StudentModel(cfg, RUN)) {
            for (int i = 0; i < 8; i++) {
                step(a, i, 1e-2);
            }
            uninterrupted = a.stateTensors();
            uninterruptedLogits = evalLogits(a);
        }
        try (StudentModel b = new StudentModel(cfg, RUN)) {
            for (int i = 0; i < 4; i++) {
                step(b, i, 1e-2);
            }
            evalLogits(b); // an evaluation before the checkpoint, as the trainer may do
            store.save(new Checkpoint(b.stateTensors(), 4, Map.of(0, 4L), "", Map.of("optimizer_updates",
                    Long.toString(b.optimizerUpdates()))));
            step(b, 99, 1e-2); // work after the checkpoint that a crash loses
        }
        Checkpoint c = store.latestValid().orElseThrow();
        try (StudentModel resumed = new StudentModel(cfg, RUN)) {
            resumed.loadState(c.tensors(), Long.parseLong(c.attributes().get("optimizer_updates")));
            for (int i = 4; i < 8; i++) {
                step(resumed, i, 1e-2);
            }
            Map<String, Tensor> r = resumed.stateTensors();
            assertThat(r.keySet()).isEqualTo(uninterrupted.keySet());
            for (String name : r.keySet()) {
                if (!name.equals(TorchScriptStudent.MODULE_KEY)) {
                    assertThat(r.get(name).buffer()).as("%s equals the uninterrupted run's, bit for bit", name)
                            .isEqualTo(uninterrupted.get(name).buffer());
                }
            }
            assertThat(evalLogits(resumed)).as("buffers too: evaluation logits bit for bit")
                    .isEqualTo(uninterruptedLogits);
        }
    }

    @Test
    void aZooCheckpointDoesNotFitATorchScriptStudent() {
        Map<String, Tensor> zoo;
        try (StudentModel m = new StudentModel(StudentModelTestConfig.mlp(), RUN)) {
            zoo = m.stateTensors();
        }
        try (StudentModel ts = new StudentModel(config("tiny_student.pt", "features,logits").build(), RUN)) {
            assertThatThrownBy(() -> ts.loadState(zoo, 0)).hasMessageContaining("does not fit this student");
        }
    }

    @Test
    void theOutputOrderIsConfigurable() {
        float[] featuresFirst;
        try (StudentModel m = new StudentModel(config("tiny_student.pt", "features,logits").build(), RUN)) {
            featuresFirst = evalLogits(m);
        }
        try (StudentModel m = new StudentModel(config("tiny_student_lf.pt", "logits,features").build(), RUN)) {
            assertThat(m.student().featureDim()).isEqualTo(24);
            assertThat(evalLogits(m)).isEqualTo(featuresFirst);
        }
    }

    @Test
    void refusesWhatIsNotAStudentWithOneLine() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.pt"), "not a module");
        assertThatThrownBy(() -> TorchScriptStudent.check(text))
                .hasMessageContaining("is not a TorchScript module").message().doesNotContain("\n");
        assertThatThrownBy(() -> new StudentModel(StudentConfig.builder().optTorchScriptStudent(text, "features,logits")
                .build(), RUN)).hasMessageContaining("is not a TorchScript module").message().doesNotContain("\n");
        assertThatThrownBy(() -> new StudentModel(config("one_output.pt", "features,logits").build(), RUN))
                .hasMessageContaining("returns 1 output(s); expected two 2-D tensors").message().doesNotContain("\n");
        assertThatThrownBy(() -> new StudentModel(config("tiny_student.pt", "logits,features").build(), RUN))
                .hasMessageContaining("as logits for a batch of 2; expected").message().doesNotContain("\n");
        assertThatThrownBy(() -> new StudentModel(config("tiny_student.pt", "features,logits")
                .optProjection(Projection.NONE).build(), RUN))
                .hasMessageContaining("--projection none needs d_s = d_t").hasMessageContaining("d_s=24");
        assertThatThrownBy(() -> config("tiny_student.pt", "features"))
                .hasMessageContaining("--student-outputs must be features,logits or logits,features");
    }

    @Test
    void theCommandLineTakesEitherAnArchOrAStudentFile() {
        String file = fixture("tiny_student_lf.pt").toString();
        StudentConfig ts = command("--student", file, "--student-outputs", "logits,features").config();
        assertThat(ts.torchScriptStudent()).isEqualTo(new TorchScriptStudent.Source(Path.of(file), "logits,features"));
        assertThat(command("--arch", "mlp").config().torchScriptStudent()).isNull();
        assertThat(command().config().arch().id()).as("the default student").isEqualTo("cnn");
        assertThatThrownBy(() -> command("--arch", "mlp", "--student", file).config())
                .isInstanceOf(picocli.CommandLine.ParameterException.class)
                .hasMessage("give either --arch or --student, not both");
        assertThatThrownBy(() -> command("--student", tmp.resolve("missing.pt").toString()))
                .isInstanceOf(picocli.CommandLine.ParameterException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> command("--student", file, "--student-outputs", "features"))
                .isInstanceOf(picocli.CommandLine.ParameterException.class)
                .hasMessageContaining("not one of features,logits, logits,features");
    }

    private static StudentCommand command(String... args) {
        StudentCommand c = new StudentCommand();
        List<String> all = new java.util.ArrayList<>(List.of("--run", "r", "--group", "g", "--checkpoint-dir", "x",
                "--bootstrap-servers", "127.0.0.1:9"));
        all.addAll(List.of(args));
        new picocli.CommandLine(c).parseArgs(all.toArray(String[]::new));
        return c;
    }

    @Test
    void theCheckpointedConfigurationNamesTheModuleByItsHash() {
        String s = config("tiny_student.pt", "logits,features").build().toString();
        assertThat(s).startsWith("StudentConfig[arch=torchscript, student=sha256:")
                .contains(", studentOutputs=logits,features, projection=matrix_exp,");
    }
}
