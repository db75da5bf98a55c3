package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.KdstreamJvm;

/**
 * kill -9 of the student process at random points: after the restarts finish the run, its
 * {@code --trace} shows every batch of every epoch trained exactly once in the surviving history,
 * and the final parameters equal those of an uninterrupted run (libtorch CPU, one thread), for a zoo
 * student and for a TorchScript one (whose checkpoints also hold its module with the buffers). The
 * long version (N ≥ 10 kills) is {@code benchmarks/chaos.sh}.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class StudentKillIT {

    private static final int CHECKPOINT_EVERY = 5;
    private static final int KILLS = 3;

    @TempDir
    Path tmp;

    private List<String> studentArgs;

    /** A zoo student, and a TorchScript one (BatchNorm statistics and Dropout masks must resume too). */
    @ParameterizedTest
    @ValueSource(strings = {"cnn", "torchscript"})
    void killNineAtRandomPointsTrainsEveryBatchExactlyOnceAndEndsWhereAnUninterruptedRunEnds(String student,
                                                                                             TestKafka kafka)
            throws Exception {
        studentArgs = student.equals("torchscript")
                ? List.of("--student", TorchScriptStudentTest.fixture("tiny_student.pt").toString())
                : List.of("--arch", student);
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, 1000, 3);
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "student-kill-" + UUID.randomUUID(), data, 50, 3,
                InputMode.INLINE);
        int total = spec.epochs() * spec.batchesPerEpoch();

        Path refTrace = tmp.resolve("ref.trace");
        Process ref = start(kafka, spec, "ref", tmp.resolve("ref"), refTrace);
        awaitExit(ref, "uninterrupted run");

        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path trace = tmp.resolve("killed.trace");
        Path ckpt = tmp.resolve("killed");
        for (int k = 0; k < KILLS; k++) {
            Process p = start(kafka, spec, "killed", ckpt, trace);
            try {
                long from = startOf(trace, k + 1);
                int ahead = 2 + random.nextInt(2 * CHECKPOINT_EVERY);
                await().atMost(Duration.ofSeconds(120)).until(() -> !p.isAlive() || lastStep(trace) >= from + ahead);
                assertThat(p.isAlive()).as("student still training when kill %d is due (seed %d)", k, seed).isTrue();
            } finally {
                p.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        awaitExit(start(kafka, spec, "killed", ckpt, trace), "run after " + KILLS + " kills");

        StepTrace.Replay replay = StepTrace.replay(trace);
        assertThat(replay.starts()).isEqualTo(KILLS + 1);
        assertThat(replay.missing(1, spec.epochs(), spec.batchesPerEpoch())).as("batches lost (seed %d)", seed)
                .isEmpty();
        assertThat(replay.duplicates()).as("batches trained twice (seed %d)", seed).isZero();
        assertThat(replay.surviving()).hasSize(total);
        assertThat(replay.contiguous()).as("surviving steps numbered 1..%d", total).isTrue();

        StepTrace.Replay uninterrupted = StepTrace.replay(refTrace);
        assertThat(replay.surviving()).as("same batches in the same order as the uninterrupted run")
                .isEqualTo(uninterrupted.surviving());
        Map<String, Tensor> a = params(tmp.resolve("ref"));
        Map<String, Tensor> b = params(ckpt);
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String name : a.keySet()) {
            assertThat(b.get(name).buffer()).as("%s equals the uninterrupted run's, bit for bit (seed %d)", name, seed)
                    .isEqualTo(a.get(name).buffer());
        }
        if (student.equals("torchscript")) {
            // the trained module handed back at the end: the same bytes as the uninterrupted run's
            Path exported = ckpt.resolve(TorchScriptStudent.EXPORT_FILE);
            assertThat(exported).exists();
            assertThat(Files.readAllBytes(exported)).as("student.pt after %d kills (seed %d)", KILLS, seed)
                    .isEqualTo(Files.readAllBytes(tmp.resolve("ref").resolve(TorchScriptStudent.EXPORT_FILE)));
        }
    }

    private static Map<String, Tensor> params(Path dir) {
        Checkpoint c = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        return c.tensors();
    }

    /** The step the {@code n}-th process started from, once it wrote its start line. */
    static long startOf(Path trace, int n) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (Files.exists(trace)) {
                List<String> starts = Files.readAllLines(trace, StandardCharsets.US_ASCII).stream()
                        .filter(l -> l.startsWith("start ")).toList();
                if (starts.size() >= n) {
                    return Long.parseLong(starts.get(n - 1).substring(6).trim());
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("student process " + n + " never started");
    }

    static long lastStep(Path trace) throws IOException {
        List<String> lines = Files.readAllLines(trace, StandardCharsets.US_ASCII);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String[] f = lines.get(i).split(" ");
            if (f[0].equals("step") && f.length == 5) {
                return Long.parseLong(f[1]);
            }
            if (f[0].equals("start")) {
                return -1;
            }
        }
        return -1;
    }

    private void awaitExit(Process p, String what) throws InterruptedException {
        try {
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as(what + " finishes").isTrue();
            assertThat(p.exitValue()).as(what + " exit code (log in " + tmp + ")").isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    private Process start(TestKafka kafka, RunSpec spec, String group, Path ckpt, Path trace) throws IOException {
        List<String> args = new java.util.ArrayList<>(List.of("--run", spec.runId(), "--group", group,
                "--bootstrap-servers", kafka.bootstrapServers(), "--checkpoint-dir", ckpt.toString(),
                "--checkpoint-every", "" + CHECKPOINT_EVERY, "--progress-interval", "0", "--trace", trace.toString()));
        args.addAll(studentArgs);
        return KdstreamJvm.mainClass(StudentCommand.class, args.toArray(String[]::new))
                .optSingleTorchThread().optHeap("512m").optLog(tmp.resolve(group + ".log")).build().start();
    }
}
