package io.kdstream.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.PythonExamples;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * The Python unit tests of kdstream_torch ({@code python/tests/test_*.py}: record checks and reasons,
 * dequantization, refusals, trace replay), run by the Maven suite, the only one CI runs.
 */
class KdstreamTorchTest {

    @Test
    void pythonUnitTestsPass() throws Exception {
        Prerequisites.assumeNull(Need.PYTORCH, PythonExamples.torchMissing());
        Path python = PythonExamples.script("ddp/train.py").getParent().getParent().getParent().resolve("python");
        ProcessBuilder pb = new ProcessBuilder(PythonExamples.PYTHON, "-m", "unittest", "discover", "-v", "-s",
                python.resolve("tests").toString()).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", python.toString());
        String out;
        try (WatchedProcess p = WatchedProcess.start(pb)) {
            out = p.assertSuccess(Duration.ofSeconds(120)).stdout();
        }
        assertThat(out).contains("Ran ").doesNotContain("Ran 0 tests");
    }
}
