package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;

import io.kdstream.codec.DType;
import io.kdstream.codec.PythonExamples;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.model.FeatureNet;
import io.kdstream.student.Checkpoint;
import io.kdstream.student.CheckpointStore;
import io.kdstream.student.StudentConfig;
import io.kdstream.student.TrainedBatches;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * {@code kdstream export} and examples/zoo.py together: a zoo student with fixed weights (and
 * non-trivial BatchNorm statistics and norm affines) in a student checkpoint, exported by the
 * command, loaded by PyTorch, gives the Java model's features and logits on a fixed batch.
 */
class ExportCommandTest {

    private static final int BATCH = 4;
    private static final int CLASSES = 10;
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    private static String noTorch;

    @BeforeAll
    static void probeTorch() {
        noTorch = PythonExamples.torchMissing();
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run kdstream(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @ParameterizedTest
    @EnumSource(value = Architecture.class, names = {"CNN", "MLP", "VIT", "VIT_POOL"})
    void pytorchReproducesTheJavaStudentsFeaturesAndLogits(Architecture arch) throws Exception {
        Prerequisites.assumeNull(Need.PYTORCH, noTorch);
        Path checkpoints = dir.resolve("ckpt");
        Path exported = dir.resolve("student.safetensors");
        Path input = dir.resolve("x.safetensors");
        float[][] javaOut;
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            Engine.getEngine("PyTorch").setRandomSeed(7);
            FeatureNet net = arch.build(1, CLASSES);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Random r = new Random(11);
            for (Pair<String, Parameter> p : net.getParameters()) {
                perturb(p.getKey(), p.getValue().getArray(), r);
                tensors.put("param/student/" + p.getKey(), f32(p.getValue().getArray()));
            }
            tensors.put("opt/student/ignored", Tensor.ofFloats(DType.F32, new int[] {1}, new float[] {1}));
            Map<String, String> attrs = new HashMap<>();
            attrs.put("config", StudentConfig.builder().optArch(arch).build().toString());
            attrs.put("best_accuracy", "0.875");
            new CheckpointStore(checkpoints, 1).saveBest(new Checkpoint(tensors, 42, Map.of(0, 17L),
                    new TrainedBatches(1, 1, 1).encode(), attrs));

            float[] x = new float[BATCH * 28 * 28];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            SafeTensors.write(input, Map.of("x", Tensor.ofFloats(DType.F32, new int[] {BATCH, 1, 28, 28}, x)), Map.of());
            NDList out = net.forward(new ParameterStore(m, false), new NDList(m.create(x, new Shape(BATCH, 1, 28, 28))), false);
            javaOut = new float[][] {out.get(0).toFloatArray(), out.get(1).toFloatArray()};
        }

        Run run = kdstream("export", "--checkpoint-dir", checkpoints.toString(), "--out", exported.toString());
        assertThat(run.exit()).as("export: %s", run.err()).isZero();
        assertThat(run.out()).contains("best.safetensors", "a " + arch.id() + " student at step 42", "0.8750");
        SafeTensors.Contents file = SafeTensors.read(exported);
        assertThat(file.metadata()).containsEntry("architecture", arch.id()).containsEntry("format", "pt");
        assertThat(file.tensors().keySet()).noneMatch(k -> k.startsWith("opt") || k.startsWith("param"));

        JsonNode py = python(exported, input);
        assertClose(py.get("features"), javaOut[0], arch + " features");
        assertClose(py.get("logits"), javaOut[1], arch + " logits");
    }

    /** {@code --projectors} (issue 39): the projections of every teacher run, for a TorchScript student too. */
    @Test
    void projectorsExportOnRequestKeyedByRun() throws IOException {
        Path checkpoints = dir.resolve("ckpt-proj");
        float[] vit = {1, 2, 3, 4, 5, 6};
        float[] cnn = {7, 8, 9, 10};
        Map<String, Tensor> tensors = Map.of(
                "param/proj/vit/weight", Tensor.ofFloats(DType.F32, new int[] {3, 2}, vit),
                "param/proj/cnn/weight", Tensor.ofFloats(DType.F32, new int[] {2, 2}, cnn),
                "param/student/w", Tensor.ofFloats(DType.F32, new int[] {1}, new float[] {1}));
        Map<String, String> attrs = Map.of("config", "StudentConfig[arch=torchscript, student=sha256:00, "
                + "studentOutputs=features,logits, projection=linear, featureLoss=l2, studentNorm=none]");
        new CheckpointStore(checkpoints, 1).save(new Checkpoint(tensors, 5, Map.of(0, 3L),
                new TrainedBatches(1, 1, 1).encode(), attrs));
        Path out = dir.resolve("projectors.safetensors");
        Run run = kdstream("export", "--checkpoint-dir", checkpoints.toString(), "--checkpoint", "latest",
                "--projectors", "--out", out.toString());
        assertThat(run.exit()).as("export --projectors: %s", run.err()).isZero();
        assertThat(run.out()).contains("step 5", "runs cnn, vit");
        SafeTensors.Contents file = SafeTensors.read(out);
        assertThat(file.tensors()).containsOnlyKeys("vit.weight", "cnn.weight");
        assertThat(file.tensors().get("vit.weight").toFloats()).containsExactly(vit);
        assertThat(file.tensors().get("vit.weight").shape()).containsExactly(3, 2);
        assertThat(file.metadata()).containsEntry("projection", "linear").containsEntry("student_norm", "none");
    }

    @Test
    void aDirectoryWithoutBestSaysSoInOneLine() throws IOException {
        Files.createDirectories(dir.resolve("empty"));
        Run run = kdstream("export", "--checkpoint-dir", dir.resolve("empty").toString(), "--out",
                dir.resolve("x.safetensors").toString());
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err().strip()).doesNotContain("\n").contains("no best.safetensors", "--checkpoint latest");
        Run latest = kdstream("export", "--checkpoint-dir", dir.resolve("empty").toString(), "--checkpoint", "latest",
                "--out", dir.resolve("x.safetensors").toString());
        assertThat(latest.exit()).isEqualTo(1);
        assertThat(latest.err()).contains("no intact step checkpoint");
    }

    /** Non-trivial BatchNorm statistics and norm affines, so eval-mode normalization is really checked. */
    private static void perturb(String name, NDArray a, Random r) {
        float[] v = a.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            if (name.endsWith("runningVar")) {
                v[i] = 0.5f + r.nextFloat();
            } else if (name.endsWith("gamma")) {
                v[i] = 1f + 0.2f * (float) r.nextGaussian();
            } else if (name.endsWith("runningMean") || name.endsWith("beta") || name.endsWith("bias")) {
                v[i] = 0.2f * (float) r.nextGaussian();
            } else {
                return; // weights: the seeded initialization
            }
        }
        a.set(v);
    }

    private static Tensor f32(NDArray a) {
        long[] s = a.getShape().getShape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = (int) s[i];
        }
        return Tensor.ofFloats(DType.F32, shape, a.toFloatArray());
    }

    private static JsonNode python(Path weights, Path input) throws Exception {
        Path errFile = weights.resolveSibling("zoo.err");
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON,
                PythonExamples.script("zoo.py").toString(), weights.toString(), input.toString())
                .redirectError(errFile.toFile()), weights.getParent(), "zoo")) {
            return new ObjectMapper().readTree(p.assertSuccess(Duration.ofSeconds(120)).stdout());
        }
    }

    private static void assertClose(JsonNode rows, float[] expected, String what) {
        double[] actual = new double[expected.length];
        int k = 0;
        for (JsonNode row : rows) {
            for (JsonNode v : row) {
                actual[k++] = v.asDouble();
            }
        }
        assertThat(k).as("%s element count", what).isEqualTo(expected.length);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("%s: largest |PyTorch - Java|", what).isLessThanOrEqualTo(TOLERANCE);
    }
}
