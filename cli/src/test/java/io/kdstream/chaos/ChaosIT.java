package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import io.kdstream.data.RequiresDataset;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * The short version of {@code benchmarks/chaos.sh}, through {@code bin/kdstream chaos} as a user
 * runs it: a teacher killed with kill -9 and restarted, and the single broker stopped with SIGTERM
 * and then killed with kill -9 mid-run while a teacher and a student work; a student killed and
 * restarted; a three-node cluster losing its partition leader and its controller leader; nothing
 * lost, nothing duplicated, no crash, every planned fault injected; and, where a tmpfs can be
 * mounted (root), the broker's disk filling up.
 */
@RequiresDataset
// a whole user-level run with its own deadline inside (up to 10 min): above the 10 m default
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class ChaosIT {

    @TempDir
    Path work;

    @Test
    void teacherKillAndBrokerRestartsLoseAndDuplicateNothing() throws Exception {
        // the broker's two faults land by the student's progress (KillSchedule): 3 epochs give each a half
        assertEveryRowClean(new int[] {1, 2}, "--teacher-kills", "1", "--student-kills", "0", "--broker-restarts", "1",
                "--cluster-kills", "0", "--epochs", "2", "--broker-epochs", "3", "--seed", "7");
    }

    /**
     * The broker's only log dir fills and the broker halts; the teacher waits it out. Seed 11 once
     * made the teacher's retried commit end in Kafka's fatal producer state (the teacher spun, then
     * exited 1 until it learned to replace its producer).
     */
    @Test
    void aTeacherRidesOutTheBrokersDiskFillingUp() throws Exception {
        Path probe = Files.createDirectories(work.resolve("tmpfs-probe"));
        boolean mounted;
        String why;
        try (WatchedProcess mount = WatchedProcess.start(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m",
                "tmpfs", probe.toString()).redirectErrorStream(true))) {
            mounted = mount.finishesWithin(Duration.ofSeconds(30)) && mount.exitValue() == 0;
            why = mount.stdout().trim();
        }
        if (mounted) {
            try (WatchedProcess umount = WatchedProcess.start(new ProcessBuilder("umount", probe.toString()))) {
                umount.assertSuccess(Duration.ofSeconds(30));
            }
        }
        Prerequisites.assume(Need.PRIVILEGED_TMPFS, mounted,
                "the disk-fill scenario mounts a tmpfs for the broker's log dir (needs root): " + why);
        assertEveryRowClean(new int[] {1}, "--teacher-kills", "0", "--student-kills", "0", "--broker-restarts", "0",
                "--cluster-kills", "0", "--disk-fills", "1", "--epochs", "6", "--broker-epochs", "8", "--seed", "11");
    }

    /**
     * The student-kills scenario in short form (one epoch, one kill): the killed and restarted
     * student trains every batch once and ends bit-equal to an uninterrupted student, or the
     * command exits non-zero. About 90 s here.
     */
    @Test
    void aStudentKilledMidRunLosesAndDuplicatesNothing() throws Exception {
        assertEveryRowClean(new int[] {1}, "--teacher-kills", "0", "--student-kills", "1", "--broker-restarts", "0",
                "--cluster-kills", "0", "--epochs", "1", "--seed", "7");
    }

    /**
     * The cluster-kills scenario in short form: one round on three KRaft nodes (RF 3,
     * min.insync.replicas 2), kill -9 of the features partition's leader and then of the controller
     * leader, each restarted once teacher and student carried on without it. Its kills land by the
     * student's progress (a quarter into each half of the run, KillSchedule) with the teacher held
     * within a few work items of the student, so both kills land mid-run, teacher and student
     * running, however fast the machine. Four epochs leave room for the first node's recovery
     * before the run ends: it cost up to ~100 batches at a load average of 15-34 on 2 cores (the
     * lead, then a 13-19 s restart at 2.4-4.5 batches/s), after a first kill near batch 20 of 160.
     */
    @Test
    void aClusterLosingItsPartitionLeaderAndItsControllerLeaderLosesAndDuplicatesNothing() throws Exception {
        assertEveryRowClean(new int[] {1, 1}, "--teacher-kills", "0", "--student-kills", "0", "--broker-restarts",
                "0", "--cluster-kills", "1", "--broker-epochs", "4", "--seed", "7");
    }

    /**
     * Runs {@code bin/kdstream chaos} as a user does and checks its table rows (row {@code i} with
     * {@code injections[i]} faults injected: every one planned) and its exit code.
     */
    private void assertEveryRowClean(int[] injections, String... args) throws Exception {
        Path root = repoRoot();
        Path log = work.resolve("chaos.log");
        List<String> command = new java.util.ArrayList<>(List.of(root.resolve("bin/kdstream").toString(), "chaos",
                "--work-dir", work.resolve("w").toString()));
        command.addAll(List.of(args));
        String out;
        int exit;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()))) {
            out = p.awaitExit(Duration.ofMinutes(8)).stdout();
            exit = p.exitValue();
        }
        List<String> rows = out.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| fault")).distinct().toList();
        assertThat(rows).as("one row per fault kind; output:%n%s", out).hasSize(injections.length);
        for (int i = 0; i < injections.length; i++) {
            String row = rows.get(i);
            String[] cells = row.split("\\|");
            assertThat(Integer.parseInt(cells[2].trim())).as("injections, all planned: %s", row)
                    .isEqualTo(injections[i]);
            assertThat(cells[3].trim()).as("batches lost: %s", row).isEqualTo("0");
            assertThat(cells[4].trim()).as("batches duplicated: %s", row).isEqualTo("0");
            assertThat(cells[5].trim()).as("crashes: %s", row).isEqualTo("0");
        }
        assertThat(exit).as("exit code; output:%n%s", out).isZero();
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
