package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.progress.ProgressEvent.StudentProgress;

/** The student-trainer as its own process: SIGTERM writes a checkpoint and exits 0; a restart resumes. */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class StudentProcessIT {

    @TempDir
    Path tmp;

    @Test
    void sigtermCheckpointsAndExitsZeroAndARestartFinishesTheRun(TestKafka kafka) throws Exception {
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, 2000, 3);
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "student-sigterm-" + UUID.randomUUID(), data, 50, 4,
                InputMode.INLINE);
        Path ckpt = tmp.resolve("ckpt");
        AtomicLong trained = new AtomicLong();
        Process first = start(kafka, spec, ckpt, trained);
        try {
            await().atMost(Duration.ofSeconds(120)).until(() -> trained.get() >= 10);
            first.destroy(); // SIGTERM
            assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(first.exitValue()).as("exit code after SIGTERM").isZero();
        } finally {
            first.destroyForcibly();
        }
        Checkpoint saved = new CheckpointStore(ckpt, 1).latestValid().orElseThrow();
        assertThat(saved.step()).as("checkpoint written on SIGTERM").isGreaterThanOrEqualTo(10)
                .isLessThan(spec.epochs() * spec.batchesPerEpoch());

        AtomicLong again = new AtomicLong();
        Process second = start(kafka, spec, ckpt, again);
        try {
            assertThat(second.waitFor(180, TimeUnit.SECONDS)).isTrue();
            assertThat(second.exitValue()).isZero();
        } finally {
            second.destroyForcibly();
        }
        Checkpoint last = new CheckpointStore(ckpt, 1).latestValid().orElseThrow();
        assertThat(last.step()).isEqualTo(spec.epochs() * spec.batchesPerEpoch());
        assertThat(TrainedBatches.decode(last.trained()).complete()).isTrue();
    }

    private Process start(TestKafka kafka, RunSpec spec, Path ckpt, AtomicLong trained) throws Exception {
        Process p = KdstreamJvm.mainClass(StudentCommand.class, "--run", spec.runId(), "--group", "sigterm",
                "--bootstrap-servers", kafka.bootstrapServers(), "--checkpoint-dir", ckpt.toString(), "--arch", "cnn",
                "--checkpoint-every", "1000", "--progress-interval", "1")
                .optHeap("512m").optErrorLog(tmp.resolve("student.log")).build().start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    ProgressEvent.parse(line, StudentProgress.class).ifPresent(e -> trained.set(e.trained()));
                }
            } catch (java.io.IOException e) {
                // process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        return p;
    }
}
