package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.manifest.RunSpec;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.TestKafka;

/**
 * Issue 15: a teacher killed (kill -9) and restarted during start-up and work planning, while
 * another teacher of the same run works, must not end the other one. Planners share a
 * transactional id, so a restarted planner fences the running one; both must then carry on, exit
 * 0, and leave every (epoch, batch) on the features topic exactly once.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class TeacherRestartIT {

    private static final int ROUNDS = 2;
    private static final int KILLS_PER_ROUND = 3;

    @TempDir
    Path tmp;

    @Test
    void teachersKilledDuringStartUpAndPlanningLeaveTheOthersServing(TestKafka kafka) throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path teacherDir = TeacherProcesses.saveCnnTeacher(tmp.resolve("teacher"), 1280);
        // a dead member holds its work partitions until its session expires: keep that short
        Path clientProps = Files.writeString(tmp.resolve("client.properties"), "session.timeout.ms=6000\n");
        for (int round = 0; round < ROUNDS; round++) {
            String run = "restart-" + UUID.randomUUID();
            Path log = tmp.resolve(run + ".log");
            List<String> args = List.of("--run", run, "--bootstrap-servers", kafka.bootstrapServers(),
                    "--kafka-config", clientProps.toString(), "--teacher", teacherDir.toString(),
                    "--train-limit", "1280", "--epochs", "6", "--batch-size", "64", "--batches-per-item", "2",
                    "--augment", "flip", "--progress-interval", "0");
            // both start together, so their planners race; then the first is killed at random points
            // of its start-up and planning and restarted under a new instance id, several times
            Process survivor = TeacherProcesses.start(log, withInstance(args, "b"));
            Process restarted = TeacherProcesses.start(log, withInstance(args, "a0"));
            List<Long> killedAfterMs = new ArrayList<>();
            try {
                for (int k = 1; k <= KILLS_PER_ROUND; k++) {
                    long delayMs = 500 + random.nextInt(7_500);
                    if (restarted.waitFor(delayMs, TimeUnit.MILLISECONDS)) {
                        break; // it finished the whole run before its kill: nothing left to interrupt
                    }
                    restarted.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, open transactions stay
                    killedAfterMs.add(delayMs);
                    restarted = TeacherProcesses.start(log, withInstance(args, "a" + k));
                }
                String context = "seed " + seed + ", round " + round + ", kills after " + killedAfterMs
                        + " ms; log " + log + ":\n" + Files.readString(log);
                assertThat(survivor.waitFor(180, TimeUnit.SECONDS)).as("survivor finishes; " + context).isTrue();
                assertThat(survivor.exitValue()).as("survivor's exit code; " + context).isZero();
                assertThat(restarted.waitFor(180, TimeUnit.SECONDS)).as("last restart finishes; " + context).isTrue();
                assertThat(restarted.exitValue()).as("last restart's exit code; " + context).isZero();
            } finally {
                survivor.destroyForcibly();
                restarted.destroyForcibly();
            }
            RunSpec spec = new ManifestStore(kafka.clients()).read(run, Duration.ofSeconds(30)).orElseThrow();
            // read_committed: every (epoch, batch) of the run exactly once
            TeacherWorkerIT.readAll(kafka.clients(), spec, spec.epochs() * spec.batchesPerEpoch());
        }
    }

    private static String[] withInstance(List<String> args, String instance) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--instance-id", instance));
        return all.toArray(String[]::new);
    }
}
