package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kdstream.codec.DType;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** vkd-eval against the PyTorch fixtures of common's vkd tests (shipped in common's test-jar). */
class VkdEvalCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static Map<String, Tensor> fixture(String name) throws IOException {
        try (InputStream in = VkdEvalCommandTest.class.getResourceAsStream("/vkd/" + name + ".safetensors")) {
            assertThat(in).as("fixture %s on the test classpath", name).isNotNull();
            return SafeTensors.decode(in.readAllBytes()).tensors();
        }
    }

    private Path input(Map<String, Tensor> fx, String... names) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String n : names) {
            in.put(n, fx.get(n));
        }
        Path file = dir.resolve("in.safetensors");
        SafeTensors.write(file, in, Map.of());
        return file;
    }

    private static double relErr(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).isEqualTo(expected.shape());
        double[] a = actual.toDoubles();
        double[] e = expected.toDoubles();
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - e[i]));
            scale = Math.max(scale, Math.abs(e[i]));
        }
        return diff / scale;
    }

    @Test
    void matchesPyTorchInFloat64WithABase() throws IOException {
        Map<String, Tensor> fx = fixture("proj_wide_small_cayley");
        Path in = input(fx, "X", "base", "student", "teacher");
        Path out = dir.resolve("out.safetensors");
        Run r = run("vkd-eval", "--in", in.toString(), "--out", out.toString(), "--map", "cayley",
                "--dtype", "f64", "--norm", "none", "--loss", "l2");
        assertThat(r.exit()).as(r.err()).isZero();
        Map<String, Tensor> res = SafeTensors.read(out).tensors();
        assertThat(res).containsKeys("P", "teacher_norm", "projected", "loss", "grad_X", "grad_student");
        assertThat(res.get("P").dtype()).isEqualTo(DType.F64);
        for (String k : new String[] {"P", "projected", "loss", "grad_X", "grad_student"}) {
            assertThat(relErr(res.get(k), fx.get(k))).as(k).isLessThan(1e-9);
        }
        assertThat(relErr(res.get("teacher_norm"), fx.get("teacher"))).isZero();
    }

    @Test
    void float32WithoutBaseAndBenchLine() throws IOException {
        Map<String, Tensor> fx = fixture("proj_tall_small_matrix_exp");
        // Without base the fixture's P does not apply; with an identity base it is exp(A)[:, :k] only,
        // so compare f32 against this command's own f64 result and check orthogonality.
        Path in = input(fx, "X", "student", "teacher");
        Path out32 = dir.resolve("out32.safetensors");
        Path out64 = dir.resolve("out64.safetensors");
        Run r = run("vkd-eval", "--in", in.toString(), "--out", out32.toString(), "--norm", "layer",
                "--loss", "smooth_l1", "--bench", "3");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("(?m)^fwd_bwd_median_ms: \\d+\\.\\d+$");
        assertThat(run("vkd-eval", "--in", in.toString(), "--out", out64.toString(), "--norm", "layer",
                "--loss", "smooth_l1", "--dtype", "f64", "--path", "dense").exit()).isZero();
        Map<String, Tensor> a = SafeTensors.read(out32).tensors();
        Map<String, Tensor> b = SafeTensors.read(out64).tensors();
        assertThat(a.get("P").dtype()).isEqualTo(DType.F32);
        for (String k : new String[] {"P", "teacher_norm", "projected", "loss", "grad_X", "grad_student"}) {
            assertThat(relErr(a.get(k), b.get(k))).as(k).isLessThan(1e-4);
        }
    }

    @Test
    void badInputGivesOneLineNamingTheTensor() throws IOException {
        Map<String, Tensor> fx = fixture("proj_tall_small_matrix_exp");
        Path out = dir.resolve("out.safetensors");

        Run missing = run("vkd-eval", "--in", input(fx, "X", "student").toString(), "--out", out.toString());
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err().strip()).doesNotContain("\n").contains("'teacher'").contains("missing");

        Map<String, Tensor> wrong = new LinkedHashMap<>(fx);
        wrong.put("student", Tensor.ofDoubles(new int[] {8, 5}, new double[40]));
        Path in = dir.resolve("wrong.safetensors");
        SafeTensors.write(in, wrong, Map.of());
        Run shape = run("vkd-eval", "--in", in.toString(), "--out", out.toString());
        assertThat(shape.exit()).isNotZero();
        assertThat(shape.err().strip()).doesNotContain("\n").contains("'student'").contains("[8, 24]");

        double[] x = fx.get("X").toDoubles();
        x[3] = Double.NaN;
        wrong.put("student", fx.get("student"));
        wrong.put("X", Tensor.ofDoubles(fx.get("X").shape(), x));
        SafeTensors.write(in, wrong, Map.of());
        Run nan = run("vkd-eval", "--in", in.toString(), "--out", out.toString());
        assertThat(nan.exit()).isNotZero();
        assertThat(nan.err().strip()).doesNotContain("\n").contains("'X'").contains("non-finite");
        assertThat(Files.exists(out)).isFalse();
    }
}
