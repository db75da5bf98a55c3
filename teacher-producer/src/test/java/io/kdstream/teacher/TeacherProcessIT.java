package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/** The teacher-producer as its own process: SIGTERM aborts the open transaction and exits 0. */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class TeacherProcessIT {

    @TempDir
    Path tmp;

    @Test
    void sigtermMidRunExitsZeroAndLeavesOnlyWholeWorkItems(TestKafka kafka) throws Exception {
        Path teacherDir = TeacherProcesses.saveCnnTeacher(tmp.resolve("teacher"), 2000);
        String run = "sigterm-" + UUID.randomUUID();
        Process p = TeacherProcesses.jvm("--run", run, "--bootstrap-servers", kafka.bootstrapServers(),
                "--teacher", teacherDir.toString(), "--train-limit", "2000", "--epochs", "20",
                "--batch-size", "50", "--batches-per-item", "4", "--progress-interval", "1")
                .optErrorLog(tmp.resolve("teacher.log")).build().start();
        AtomicLong batches = new AtomicLong();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    ProgressEvent.parse(line, TeacherProgress.class).ifPresent(t -> batches.set(t.batches()));
                }
            } catch (java.io.IOException e) {
                // process ended
            }
        });
        reader.start();
        try {
            await().atMost(Duration.ofSeconds(120)).until(() -> batches.get() >= 8);
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("teacher stops within the grace period").isTrue();
            assertThat(p.exitValue()).as("exit code after SIGTERM").isZero();
        } finally {
            p.destroyForcibly();
        }
        RunSpec spec = new ManifestStore(kafka.clients()).read(run, Duration.ofSeconds(30)).orElseThrow();
        int total = spec.epochs() * spec.batchesPerEpoch();
        // count what is committed: whole work items only, and fewer than the whole run
        int committed = TestTopics.readToEnd(kafka.clients(), new RunTopics(spec.runId()).features()).size();
        Map<String, FeatureBatch> got = TeacherWorkerIT.readAll(kafka.clients(), spec, committed);
        assertThat(got.size()).isGreaterThanOrEqualTo(8).isLessThan(total);
        assertThat(got.size() % 4).as("only whole work items of 4 batches are visible").isZero();
    }
}
