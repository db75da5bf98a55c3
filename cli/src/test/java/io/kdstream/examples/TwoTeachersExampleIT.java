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

/**
 * docs/teachers.md's two-teacher example, run as the guide says: {@code examples/two_teachers.py
 * --quick} trains two zoo teachers, starts a teacher process per run against one broker, and one
 * student joining both runs through {@code bin/kdstream}; its trace shows every joined batch
 * trained exactly once. Needs only the standard library of {@code /usr/bin/python3}.
 */
@RequiresDataset
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class TwoTeachersExampleIT {

    @TempDir
    Path work;

    @Test
    void twoTeacherRunsAndOneStudentJoiningThemTrainEveryBatchOnce() throws Exception {
        Path script = PythonExamples.script("two_teachers.py");
        Path log = work.resolve("two_teachers.log");
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON, script.toString(),
                "--quick", "--work-dir", work.resolve("two").toString()).redirectError(log.toFile()), work,
                "two_teachers")) {
            out = p.assertSuccess(Duration.ofMinutes(5)).stdout();
        }

        JsonNode r = new ObjectMapper().readTree(out.strip().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(r.get("trained").asLong()).as("every planned batch trained").isEqualTo(r.get("total").asLong())
                .isPositive();
        assertThat(r.get("trained_once").asBoolean()).as("the trace: each joined batch exactly once").isTrue();
        assertThat(r.get("accuracy").asDouble()).as("the student learned something (10 classes)").isGreaterThan(0.3);
    }
}
