package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.codec.Tensor;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.manifest.RunSpec;

/**
 * kill -9 of a student joining two runs (issue 39): after the restarts finish, its {@code --trace}
 * shows every joined batch of every pass trained exactly once, and the parameters equal those of an
 * uninterrupted joined student, bit for bit, as {@link StudentKillIT} shows for one run. The
 * checkpoint's positions cover both runs' partitions; a record the join still held at the kill is
 * read again, and one already trained is dropped.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class JoinedStudentKillIT {

    private static final int CHECKPOINT_EVERY = 4;
    private static final int KILLS = 2;

    @TempDir
    Path tmp;

    @Test
    void killNineOfAJoinedStudentTrainsEveryJoinedBatchExactlyOnceAndEndsWhereAnUninterruptedRunEnds(
            TestKafka kafka) throws Exception {
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, 400, 3);
        String id = UUID.randomUUID().toString();
        RunSpec wide = FeatureStreams.produce(kafka.clients(), "kill-wide-" + id, data, 50, 2, InputMode.INLINE, 96,
                (e, b) -> true);
        RunSpec narrow = FeatureStreams.produce(kafka.clients(), "kill-narrow-" + id, data, 50, 2,
                InputMode.REFERENCE, 32, (e, b) -> true);
        List<RunSpec> runs = List.of(wide, narrow);
        int total = wide.epochs() * wide.batchesPerEpoch();

        Path refTrace = tmp.resolve("ref.trace");
        awaitExit(start(kafka, runs, "ref", tmp.resolve("ref"), refTrace), "uninterrupted run");

        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path trace = tmp.resolve("killed.trace");
        Path ckpt = tmp.resolve("killed");
        for (int k = 0; k < KILLS; k++) {
            Process p = start(kafka, runs, "killed", ckpt, trace);
            try {
                long from = StudentKillIT.startOf(trace, k + 1);
                int ahead = 2 + random.nextInt(2 * CHECKPOINT_EVERY);
                await().atMost(Duration.ofSeconds(120))
                        .until(() -> !p.isAlive() || StudentKillIT.lastStep(trace) >= from + ahead);
                assertThat(p.isAlive()).as("student still training when kill %d is due (seed %d)", k, seed).isTrue();
            } finally {
                p.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        awaitExit(start(kafka, runs, "killed", ckpt, trace), "run after " + KILLS + " kills");

        StepTrace.Replay replay = StepTrace.replay(trace);
        assertThat(replay.starts()).isEqualTo(KILLS + 1);
        assertThat(replay.missing(1, wide.epochs(), wide.batchesPerEpoch())).as("batches lost (seed %d)", seed)
                .isEmpty();
        assertThat(replay.duplicates()).as("batches trained twice (seed %d)", seed).isZero();
        assertThat(replay.surviving()).hasSize(total);
        assertThat(replay.surviving()).as("same batches in the same order as the uninterrupted run")
                .isEqualTo(StepTrace.replay(refTrace).surviving());
        Map<String, Tensor> a = new CheckpointStore(tmp.resolve("ref"), 1).latestValid().orElseThrow().tensors();
        Map<String, Tensor> b = new CheckpointStore(ckpt, 1).latestValid().orElseThrow().tensors();
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String name : a.keySet()) {
            assertThat(b.get(name).buffer()).as("%s equals the uninterrupted run's, bit for bit (seed %d)", name, seed)
                    .isEqualTo(a.get(name).buffer());
        }
    }

    private void awaitExit(Process p, String what) throws InterruptedException {
        try {
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as(what + " finishes").isTrue();
            assertThat(p.exitValue()).as(what + " exit code (log in " + tmp + ")").isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    private Process start(TestKafka kafka, List<RunSpec> runs, String group, Path ckpt, Path trace)
            throws IOException {
        List<String> args = new ArrayList<>();
        runs.forEach(r -> args.addAll(List.of("--run", r.runId())));
        args.addAll(List.of("--group", group, "--arch", "mlp", "--bootstrap-servers", kafka.bootstrapServers(),
                "--checkpoint-dir", ckpt.toString(), "--checkpoint-every", "" + CHECKPOINT_EVERY, "--prefetch", "2",
                "--progress-interval", "0", "--trace", trace.toString()));
        return KdstreamJvm.mainClass(StudentCommand.class, args.toArray(String[]::new))
                .optSingleTorchThread().optHeap("512m").optLog(tmp.resolve(group + ".log")).build().start();
    }
}
