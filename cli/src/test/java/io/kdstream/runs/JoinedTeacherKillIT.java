package io.kdstream.runs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.cli.KdstreamCommand;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.student.StepTrace;

/**
 * kill -9 of one run's teacher while a student joins two runs (issue 39): the teachers are held
 * within two batches of the student (--max-lead-batches), so the killed one dies with its run
 * half published and an item in flight; restarted under the same instance id it aborts the dead
 * one's transaction and publishes the rest. The student's {@code --trace} shows every joined batch
 * trained exactly once, and both teachers and the student exit 0.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class JoinedTeacherKillIT {

    private static final int BATCH = 64;
    private static final int TRAIN_LIMIT = 640; // 10 batches an epoch
    private static final int EPOCHS = 2;
    private static final Duration DEADLINE = Duration.ofMinutes(4);

    @TempDir
    Path tmp;

    @Test
    void aTeacherOfOneRunKilledAndRestartedLeavesTheJoinedStudentEveryBatchOnce(TestKafka kafka) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String runA = "tk-a-" + id;
        String runB = "tk-b-" + id;
        String group = "tk-joined-" + id;
        Path teacherA = teacher(Architecture.MLP, "teacher-a");
        Path teacherB = teacher(Architecture.CNN, "teacher-b");
        Path trace = tmp.resolve("student.trace");

        try (WatchedProcess a = start("teacher-a", teacherArgs(kafka, runA, teacherA, group, "tk-a"));
             WatchedProcess b = start("teacher-b", teacherArgs(kafka, runB, teacherB, group, "tk-b"));
             WatchedProcess student = start("student", List.of("student", "--run", runA, "--run", runB,
                     "--group", group, "--arch", "mlp", "--bootstrap-servers", kafka.bootstrapServers(),
                     "--checkpoint-dir", tmp.resolve("ckpt").toString(), "--checkpoint-every", "2",
                     "--prefetch", "2", "--progress-interval", "0", "--idle-timeout", "120s",
                     "--trace", trace.toString()))) {
            await().atMost(DEADLINE).until(() -> !student.process().isAlive() || steps(trace) >= 4);
            assertThat(b.process().isAlive()).as("teacher b still publishing when its kill is due (held within "
                    + "2 batches of the student)").isTrue();
            b.process().destroyForcibly(); // SIGKILL: no shutdown hook, its transaction left open
            assertThat(b.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            long atKill = steps(trace);
            int total = EPOCHS * TRAIN_LIMIT / BATCH;
            assertThat(TestTopics.readToEnd(kafka.clients(), new RunTopics(runB).features()))
                    .as("run b's committed batches when its teacher died: the rest is the restarted one's")
                    .hasSizeLessThan(total);

            try (WatchedProcess again = start("teacher-b-again",
                    teacherArgs(kafka, runB, teacherB, group, "tk-b"))) {
                student.assertSuccess(DEADLINE);
                again.assertSuccess(Duration.ofMinutes(1));
            }
            a.assertSuccess(Duration.ofMinutes(1));
            assertThat(atKill).as("the kill landed mid-run").isLessThan(total);
        }

        StepTrace.Replay r = StepTrace.replay(trace);
        int perEpoch = TRAIN_LIMIT / BATCH;
        assertThat(r.missing(1, EPOCHS, perEpoch)).as("joined batches never trained").isEmpty();
        assertThat(r.duplicates()).as("joined batches trained twice").isZero();
        assertThat(r.surviving()).as("steps").hasSize(EPOCHS * perEpoch);
    }

    /** An untrained zoo teacher saved for the runs: the features only need to be a real teacher's. */
    private Path teacher(Architecture arch, String name) throws IOException {
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, TRAIN_LIMIT, 1);
        Path dir = tmp.resolve(name);
        try (DjlFeatureModel t = DjlFeatureModel.create(arch, 1, 28, 28, 10, "fashion-mnist",
                InputNormalization.forDataset(data.train()))) {
            t.save(dir);
        }
        return dir;
    }

    private static List<String> teacherArgs(TestKafka kafka, String run, Path model, String group, String instance) {
        return List.of("teacher", "--run", run, "--teacher", model.toString(), "--train-limit", "" + TRAIN_LIMIT,
                "--epochs", "" + EPOCHS, "--batch-size", "" + BATCH, "--batches-per-item", "2",
                "--work-partitions", "1", "--max-lead-batches", "2", "--student-groups", group,
                "--instance-id", instance, "--transaction-timeout", "PT30S", "--progress-interval", "0",
                "--bootstrap-servers", kafka.bootstrapServers());
    }

    private WatchedProcess start(String name, List<String> args) throws IOException {
        return WatchedProcess.start(KdstreamJvm.mainClass(KdstreamCommand.class, args.toArray(String[]::new))
                .optSingleTorchThread().optHeap("512m").build().processBuilder(), tmp.resolve("logs"), name);
    }

    /** Steps the student has logged in its trace so far (across its processes). */
    private static long steps(Path trace) throws IOException {
        if (!Files.exists(trace)) {
            return 0;
        }
        return Files.readAllLines(trace, StandardCharsets.US_ASCII).stream().filter(l -> l.startsWith("step ")).count();
    }
}
