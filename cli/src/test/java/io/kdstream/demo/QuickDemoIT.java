package io.kdstream.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.data.RequiresDataset;
import io.kdstream.lifecycle.WatchedProcess;

/**
 * Runs {@code bin/kdstream demo --quick} exactly as a user would: the launcher script, the packaged
 * jar, the embedded broker, the teacher and four students as separate processes.
 */
@RequiresDataset
// a whole user-level run with its own deadline inside (up to 10 min): above the 10 m default
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class QuickDemoIT {

    @TempDir
    Path work;

    @Test
    void quickDemoRunsEndToEndAndWritesAReport() throws Exception {
        Path launcher = repoRoot().resolve("bin/kdstream");
        Path log = work.resolve("demo.log");
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(launcher.toString(), "demo", "--quick",
                "--work-dir", work.toString()).redirectErrorStream(true).redirectOutput(log.toFile()))) {
            out = p.assertSuccess(Duration.ofMinutes(10)).stdout();
        }
        // every child (broker, teacher, students) has a path under the work dir on its command line
        assertThat(ProcessHandle.allProcesses().filter(ph -> ph.pid() != ProcessHandle.current().pid())
                .filter(ph -> ph.info().commandLine().map(c -> c.contains(work.toString())).orElse(false))
                .map(ph -> ph.info().commandLine().orElse("")).toList()).as("no stray processes").isEmpty();

        String reportLine = out.lines().filter(l -> l.startsWith("report: ")).findFirst().orElseThrow();
        Path report = Path.of(reportLine.substring("report: ".length()));
        assertThat(report).exists();
        assertThat(report.resolveSibling("curves.png")).exists();
        JsonNode json = new ObjectMapper().readTree(report.resolveSibling("report.json").toFile());
        JsonNode students = json.get("students");
        assertThat(students).hasSize(4);
        for (JsonNode s : students) {
            assertThat(s.get("exit_code").asInt()).as("%s exit code", s.get("group")).isZero();
            assertThat(s.get("total").asLong()).as("%s planned batches", s.get("group")).isPositive();
            assertThat(s.get("trained").asLong()).as("%s trained every batch", s.get("group"))
                    .isEqualTo(s.get("total").asLong());
        }
        List<String> variants = students.findValuesAsText("variant");
        assertThat(variants).containsExactly("alone", "logit", "linear", "VkD");
        double vkd = students.get(variants.indexOf("VkD")).get("accuracy").asDouble();
        assertThat(vkd).as("VkD student accuracy (chance is 10%)").isGreaterThan(0.4);
        assertThat(Files.readString(report)).contains("| VkD | 1 |", "## Setup", "teacher_throughput");
    }

    @Test
    void aDemoStoppedWhileItsTeacherTrainsLeavesNoProcessBehind() throws Exception {
        Path launcher = repoRoot().resolve("bin/kdstream");
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(launcher.toString(), "demo", "--quick",
                "--work-dir", work.toString()).redirectErrorStream(true).redirectOutput(work.resolve("demo.log").toFile()))) {
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !processesOf(work, "train-teacher").isEmpty() || !p.process().isAlive());
            assertThat(p.process().isAlive()).as("the demo is still in phase 1").isTrue();
            p.process().destroy(); // SIGTERM to the demo's JVM alone, as a supervisor or `kill` sends it
            p.awaitExit(Duration.ofSeconds(60));
        }
        // the demo waits for what it stops, so nothing of it may be left once it has exited
        assertThat(processesOf(work, "")).as("processes left by the stopped demo").isEmpty();
    }

    /** Command lines of the processes (not this JVM) that name {@code dir} and contain {@code text}. */
    private static List<String> processesOf(Path dir, String text) {
        return ProcessHandle.allProcesses().filter(ph -> ph.pid() != ProcessHandle.current().pid())
                .map(ph -> ph.info().commandLine().orElse(""))
                .filter(c -> c.contains(dir.toString()) && c.contains(text)).toList();
    }

    private static Path repoRoot() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("bin/kdstream")) && Files.exists(dir.resolve("cli/target/kdstream.jar"))) {
                return dir;
            }
        }
        throw new IOException("bin/kdstream with a built cli/target/kdstream.jar not found above "
                + Path.of("").toAbsolutePath());
    }
}
