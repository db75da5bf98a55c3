package io.kdstream.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.PythonExamples;
import io.kdstream.data.RequiresDataset;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * docs/pytorch.md's example, run as the guide says: {@code examples/byo/byo.py --quick} defines a
 * teacher and a student in PyTorch, runs them through {@code bin/kdstream broker|teacher|student}
 * and evaluates the returned student.pt in PyTorch. Skipped without Debian's python3-torch.
 */
@RequiresDataset
// a whole user-level run with its own deadline inside (up to 10 min): above the 10 m default
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class ByoExampleIT {

    @TempDir
    Path work;

    @Test
    void aPyTorchTeacherAndStudentGoThroughKdstreamAndTheStudentComesBackWithTheReportedAccuracy()
            throws Exception {
        String noTorch = PythonExamples.torchMissing();
        Prerequisites.assumeNull(Need.PYTORCH, noTorch);
        Path script = PythonExamples.script("byo/byo.py");
        Path log = work.resolve("byo.log");
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON, script.toString(),
                "--quick", "--work-dir", work.resolve("byo").toString()).redirectError(log.toFile()), work, "byo")) {
            out = p.assertSuccess(Duration.ofMinutes(10)).stdout();
        }

        JsonNode r = new ObjectMapper().readTree(out.strip().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(r.get("trained").asLong()).as("every planned batch trained").isEqualTo(r.get("total").asLong())
                .isPositive();
        double kdstream = r.get("kdstream_accuracy").asDouble();
        assertThat(r.get("pytorch_accuracy").asDouble()).as("PyTorch's accuracy for the returned student.pt")
                .isCloseTo(kdstream, org.assertj.core.data.Offset.offset(0.001));
        assertThat(kdstream).as("the distilled student learned the task (10 classes)").isGreaterThan(0.5);
        assertThat(Path.of(r.get("student_pt").asText())).isRegularFile();
    }
}
