package io.kdstream.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.PythonExamples;

/**
 * The Python unit tests of kdstream_torch ({@code python/tests/test_*.py}: record checks and reasons,
 * dequantization, refusals, trace replay), run by the Maven suite, the only one CI runs.
 */
class KdstreamTorchTest {

    @Test
    void pythonUnitTestsPass() throws Exception {
        String missing = PythonExamples.torchMissing();
        assumeTrue(missing == null, missing);
        Path python = PythonExamples.script("ddp/train.py").getParent().getParent().getParent().resolve("python");
        ProcessBuilder pb = new ProcessBuilder(PythonExamples.PYTHON, "-m", "unittest", "discover", "-v", "-s",
                python.resolve("tests").toString()).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", python.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("unittest finished").isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("Ran ").doesNotContain("Ran 0 tests");
    }
}
