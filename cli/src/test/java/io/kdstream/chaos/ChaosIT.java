package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.kdstream.data.RequiresDataset;

/**
 * The short version of {@code benchmarks/chaos.sh}, through {@code bin/kdstream chaos} as a user
 * runs it: a teacher killed with kill -9 and restarted, and the single broker stopped with SIGTERM
 * and then killed with kill -9 mid-run while a teacher and a student work; nothing lost, nothing
 * duplicated, no crash; and, where a tmpfs can be mounted (root), the broker's disk filling up.
 * (The student kill loop's short version is StudentKillIT.)
 */
@RequiresDataset
class ChaosIT {

    @TempDir
    Path work;

    @Test
    void teacherKillAndBrokerRestartsLoseAndDuplicateNothing() throws Exception {
        assertEveryRowClean(2, "--teacher-kills", "1", "--student-kills", "0", "--broker-restarts", "1",
                "--cluster-kills", "0", "--epochs", "2", "--broker-epochs", "8", "--seed", "7");
    }

    /**
     * The broker's only log dir fills and the broker halts; the teacher waits it out. Seed 11 once
     * made the teacher's retried commit end in Kafka's fatal producer state (the teacher spun, then
     * exited 1 until it learned to replace its producer).
     */
    @Test
    void aTeacherRidesOutTheBrokersDiskFillingUp() throws Exception {
        Path probe = Files.createDirectories(work.resolve("tmpfs-probe"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.toString())
                .redirectErrorStream(true).start();
        String why = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        boolean mounted = mount.waitFor(30, TimeUnit.SECONDS) && mount.exitValue() == 0;
        if (mounted) {
            new ProcessBuilder("umount", probe.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
        assumeTrue(mounted, "the disk-fill scenario mounts a tmpfs for the broker's log dir (needs root): " + why);
        assertEveryRowClean(1, "--teacher-kills", "0", "--student-kills", "0", "--broker-restarts", "0",
                "--cluster-kills", "0", "--disk-fills", "1", "--epochs", "6", "--broker-epochs", "8", "--seed", "11");
    }

    /** Runs {@code bin/kdstream chaos} as a user does and checks its table rows and exit code. */
    private void assertEveryRowClean(int scenarios, String... args) throws Exception {
        Path root = repoRoot();
        Path log = work.resolve("chaos.log");
        List<String> command = new java.util.ArrayList<>(List.of(root.resolve("bin/kdstream").toString(), "chaos",
                "--work-dir", work.resolve("w").toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean finished = p.waitFor(8, TimeUnit.MINUTES);
        if (!finished) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(finished).as("chaos run finished; output:%n%s", out).isTrue();
        List<String> rows = out.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| fault")).distinct().toList();
        assertThat(rows).as("one row per scenario; output:%n%s", out).hasSize(scenarios);
        for (String row : rows) {
            String[] cells = row.split("\\|");
            assertThat(Integer.parseInt(cells[2].trim())).as("injections: %s", row).isPositive();
            assertThat(cells[3].trim()).as("batches lost: %s", row).isEqualTo("0");
            assertThat(cells[4].trim()).as("batches duplicated: %s", row).isEqualTo("0");
            assertThat(cells[5].trim()).as("crashes: %s", row).isEqualTo("0");
        }
        assertThat(p.exitValue()).as("exit code; output:%n%s", out).isZero();
        assertThat(ProcessHandle.allProcesses().filter(ph -> ph.pid() != ProcessHandle.current().pid())
                .filter(ph -> ph.info().commandLine().map(c -> c.contains(work.toString())).orElse(false))
                .map(ph -> ph.info().commandLine().orElse("")).toList()).as("no stray processes").isEmpty();
    }

    private static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("bin/kdstream")) && Files.exists(dir.resolve("cli/target/kdstream.jar"))) {
                return dir;
            }
        }
        throw new IllegalStateException("bin/kdstream and cli/target/kdstream.jar not found above " + Path.of("")
                .toAbsolutePath());
    }
}
