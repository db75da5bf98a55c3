package io.kdstream.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.cli.KdstreamCommand;
import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.PythonExamples;
import io.kdstream.codec.RecordHeaderNames;
import io.kdstream.codec.TestBatches;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.manifest.RunSpec;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.student.StepTrace;
import io.kdstream.teacher.LeadMonitor;
import io.kdstream.teacher.RunSetup;
import io.kdstream.vkd.Normalization;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * examples/ddp/train.py (kdstream_torch with DistributedDataParallel on gloo, started by
 * {@code python3 -m kdstream_torch.launch}, since Debian's torchrun fails) against runs that a
 * real kdstream teacher publishes on the embedded broker: 2 ranks end where 1 rank ends; a job
 * killed with SIGKILL and restarted from its last checkpoint trains every batch exactly once (the
 * Java student's trace audit); a teacher whose flow control waits on the Python student's group
 * (2 ranks on a 2-partition run) finishes only because that group commits; the refusals.
 */
@ExtendWith(KafkaExtension.class)
class DdpStudentIT {

    private static final int TRAIN = 512;
    /** Odd: batches split 8/7 over two ranks, and an epoch's last batch (2 samples) 1/1. */
    private static final int BATCH = 15;
    private static final int EPOCHS = 2;
    private static final int PER_EPOCH = (TRAIN + BATCH - 1) / BATCH;
    private static final Duration DEADLINE = Duration.ofSeconds(180);

    @TempDir
    static Path work;
    private static String bootstrap;
    private static Path teacher;
    private static Path root;

    @BeforeAll
    static void publishRun(TestKafka kafka) throws Exception {
        Prerequisites.assumeNull(Need.PYTORCH, PythonExamples.torchMissing());
        bootstrap = kafka.bootstrapServers();
        root = PythonExamples.script("ddp/train.py").getParent().getParent().getParent();
        teacher = work.resolve("teacher");
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, TRAIN, 1);
        try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist",
                InputNormalization.forDataset(data.train()))) {
            m.save(teacher); // untrained: the data path, not the accuracy, is under test
        }
        assertThat(teacher("ddp-run", TRAIN, List.of())).as("teacher exit code").isZero();
    }

    @Test
    void twoRanksEndWhereOneRankEnds() throws Exception {
        Path one = work.resolve("one");
        Path two = work.resolve("two");
        // SGD: AdamW turns float noise in near-zero gradients into full-size steps (1e-4..6e-4 apart)
        List<String> sgd = List.of("--optimizer", "sgd", "--lr", "0.01");
        JsonNode r1 = train(1, "ddp-one", one, sgd);
        JsonNode r2 = train(2, "ddp-two", two, sgd);
        assertThat(r1.get("trained").asInt()).isEqualTo(EPOCHS * PER_EPOCH);
        assertThat(r2.get("trained").asInt()).isEqualTo(EPOCHS * PER_EPOCH);
        JsonNode cmp = json(finish(launch(List.of(root.resolve("python/tests/compare_checkpoints.py").toString(),
                one.toString(), two.toString()), work.resolve("compare.log")), work.resolve("compare.log")));
        assertThat(cmp.get("steps").toString()).isEqualTo("[" + EPOCHS * PER_EPOCH + "," + EPOCHS * PER_EPOCH + "]");
        // float sums in another order: measured 3.5e-7 to 1.7e-5 after 70 steps (the teacher, hence the
        // trajectory, differs from run to run); two ranks that both trained on the first half of each
        // batch ended 6.9e-2 away
        assertThat(cmp.get("max_abs_diff").asDouble()).as("parameters of 1 and 2 ranks")
                .isLessThan(1e-4);
        assertThat(Files.isRegularFile(one.resolve("student.pt"))).as("exported TorchScript").isTrue();
    }

    @Test
    void killedWithSigkillAndRestartedTrainsEveryBatchExactlyOnce() throws Exception {
        Path dir = work.resolve("killed");
        Path trace = work.resolve("killed.trace");
        Process p = start(2, "ddp-killed", dir, trace, work.resolve("killed-1.log"));
        // mid-run, past the first checkpoint (every 5 steps) and between two checkpoints
        waitFor(() -> steps(trace) >= 8 || !p.isAlive(), "8 steps in the trace");
        assertThat(p.isAlive()).as("the job still runs when it is killed").isTrue();
        killTree(p);
        JsonNode done = json(finish(start(2, "ddp-killed", dir, trace, work.resolve("killed-2.log")),
                work.resolve("killed-2.log")));
        assertThat(done.get("trained").asInt()).isEqualTo(EPOCHS * PER_EPOCH);
        StepTrace.Replay r = StepTrace.replay(trace);
        assertThat(r.starts()).isEqualTo(2);
        assertThat(r.interruptions()).hasSize(1);
        assertThat(r.interruptions().get(0).resumedFrom()).as("resumed from a checkpoint").isPositive();
        assertThat(r.missing(1, EPOCHS, PER_EPOCH)).as("batches never trained").isEmpty();
        assertThat(r.duplicates()).as("batches trained twice").isZero();
        assertThat(r.contiguous()).isTrue();
    }

    @Test
    void teacherFlowControlWaitsOnThePythonGroup() throws Exception {
        String run = "ddp-flow";
        String group = "ddp-flow-student";
        // a small bound: the teacher must pause until the Python student's commits move the lag
        CompletableFuture<Integer> t = CompletableFuture.supplyAsync(() -> teacher(run, 256, List.of(
                "--max-lead-batches", "6", "--student-groups", group, "--batches-per-item", "2",
                // two partitions: the ranks agree on the order through rank 0's announcements
                "--feature-partitions", "2")));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            LeadMonitor lead = new LeadMonitor(admin, run + ".features", List.of(group), false, Set.of(),
                    Duration.ofSeconds(10));
            waitFor(() -> leadOrZero(lead) >= 6, "the teacher to reach its bound");
            assertThat(t).as("the teacher waits for the student").isNotDone();
            JsonNode r = train(2, group, work.resolve("flow"), run, "4", List.of());
            assertThat(r.get("trained").asInt()).isEqualTo(EPOCHS * ((256 + BATCH - 1) / BATCH));
            assertThat(t.get(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("teacher exit code").isZero();
            // the group's commits are what the teachers measure: only the last transaction marker of
            // each partition is left
            assertThat(lead.lead().orElseThrow()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void refusesLikeTheJavaStudent(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunSetup.Settings settings = new RunSetup.Settings(1, 1, 1, (short) -1, Duration.ofSeconds(60));
        RunSpec spec = syntheticRun("ddp-refuse");
        RunSpec gone = syntheticRun("ddp-gone");
        RunSetup.prepare(clients, spec, settings);
        RunSetup.prepare(clients, gone, settings);
        new ManifestStore(clients).publishIfAbsent(TestBatches.spec("ddp-reference", 8, 0, InputMode.REFERENCE),
                Duration.ofSeconds(60));
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("ddp-refusals"))) {
            send(p, spec, "0/0", TestBatches.batch(spec, 0, 0, 1).encode());
            send(p, spec, "0/1", new byte[] {1, 2, 3}); // not safetensors
            RunSpec other = TestBatches.spec("another-run", 8, 3, InputMode.INLINE);
            send(p, spec, "0/2", TestBatches.batch(other, 0, 2, 2).encode()); // another run's batch
            send(p, spec, "0/3", TestBatches.batch(spec, 0, 3, 3).encode());
            for (int b = 0; b < 2; b++) {
                send(p, gone, "0/" + b, TestBatches.batch(gone, 0, b, b).encode());
            }
        }
        try (Admin admin = Admin.create(clients.admin())) {
            admin.deleteRecords(java.util.Map.of(new org.apache.kafka.common.TopicPartition("ddp-gone.features", 0),
                    org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(1))).all().get();
        }
        Path log = work.resolve("refusals.log");
        JsonNode out = json(finish(launch(List.of(root.resolve("python/tests/refusals.py").toString(), bootstrap,
                "ddp-refuse", "ddp-reference", "ddp-gone", "ddp-refuser"), log), log));

        assertThat(out.get("mismatch").get("type").asText()).isEqualTo("ManifestMismatch");
        assertThat(out.get("mismatch").get("message").asText()).contains("feature_dim: manifest has 8, configured 999")
                .doesNotContain("epochs").doesNotContain("\n");
        assertThat(out.get("reference").get("type").asText()).isEqualTo("ReferenceModeRefused");
        assertThat(out.get("reference").get("message").asText()).contains("ddp-reference", "reference-mode")
                .doesNotContain("\n");
        assertThat(out.get("gone").get("type").asText()).isEqualTo("BatchesGone");
        assertThat(out.get("gone").get("message").asText()).contains("ddp-gone.features-0 offsets 0..0 are gone");
        assertThat(out.get("yielded").toString()).isEqualTo("[\"0/0\",\"0/3\"]");
        assertThat(out.get("state").get("offsets").get("0").asLong()).isEqualTo(4);
        // the Java student's series, which deploy/prometheus/alerts.yml reads
        assertThat(out.get("metrics").asText()).contains(
                "kdstream_student_steps_total{group=\"ddp-refuser\",run=\"ddp-refuse\"} 2\n",
                "kdstream_student_dlq_records_total{group=\"ddp-refuser\",run=\"ddp-refuse\",reason=\"truncated\"} 1\n",
                "kdstream_student_dlq_records_total{group=\"ddp-refuser\",run=\"ddp-refuse\",reason=\"manifest_mismatch\"} 1\n",
                "kdstream_student_progress_ratio{group=\"ddp-refuser\",run=\"ddp-refuse\"} 0.5\n");

        Map<String, String> reasons = new java.util.TreeMap<>();
        Map<String, Object> cfg = clients.consumer(null, "ddp-dlq-reader");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            var tp = new org.apache.kafka.common.TopicPartition("ddp-refuse.dlq", 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (reasons.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    reasons.put(header(r, RecordHeaderNames.DLQ_SOURCE_OFFSET), header(r, RecordHeaderNames.DLQ_REASON)
                            + " by " + header(r, RecordHeaderNames.DLQ_CONSUMER));
                }
            }
        }
        assertThat(reasons).containsExactly(java.util.Map.entry("1", "truncated by ddp-refuser"),
                java.util.Map.entry("2", "manifest_mismatch by ddp-refuser"));
    }

    /** One epoch of 4 inline batches of 4 samples [1, 4, 4], f16 features (d_t = 8) and 3 logits. */
    private static RunSpec syntheticRun(String run) {
        return RunSpec.builder().setRunId(run).setSource("synthetic", 10, List.of(1, 4, 4))
                .setTeacher("teacher-sha256-abc", "pool").setFeatures(8, Normalization.LAYER, DType.F16)
                .optLogitClasses(3).optInputMode(InputMode.INLINE).optAugmentation(AugmentPolicy.parse("none"))
                .optInputNormalization(new float[] {0.5f}, new float[] {0.25f}).setStream(4, 4, 1, 7L).build();
    }

    private static void send(KafkaProducer<String, byte[]> p, RunSpec run, String key, byte[] value) throws Exception {
        p.send(new ProducerRecord<>(run.runId() + ".features", key, value)).get();
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static long leadOrZero(LeadMonitor lead) throws Exception {
        try {
            return lead.lead().orElse(0);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                return 0; // the teacher has not created the run's topics yet
            }
            throw e;
        }
    }

    private static int teacher(String run, int train, List<String> extra) {
        List<String> args = new ArrayList<>(List.of("teacher", "--run", run, "--bootstrap-servers", bootstrap,
                "--teacher", teacher.toString(), "--train-limit", "" + train, "--epochs", "" + EPOCHS,
                "--batch-size", "" + BATCH, "--logits", "--progress-interval", "0", "--feature-dtype", "i8"));
        args.addAll(extra);
        return KdstreamCommand.commandLine().execute(args.toArray(String[]::new));
    }

    private JsonNode train(int ranks, String group, Path dir, List<String> extra) throws Exception {
        return train(ranks, group, dir, "ddp-run", "5", extra);
    }

    private JsonNode train(int ranks, String group, Path dir, String run, String every, List<String> extra)
            throws Exception {
        Path log = work.resolve(group + ".log");
        return json(finish(start(ranks, group, dir, null, log, run, every, extra), log));
    }

    private Process start(int ranks, String group, Path dir, Path trace, Path log) throws IOException {
        return start(ranks, group, dir, trace, log, "ddp-run", "5", List.of());
    }

    private static int port = 29700 + (int) (ProcessHandle.current().pid() % 200);

    private Process start(int ranks, String group, Path dir, Path trace, Path log, String run, String every,
            List<String> extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("-m", "kdstream_torch.launch", "--nproc-per-node", "" + ranks,
                "--master-port", "" + port++, root.resolve("examples/ddp/train.py").toString(), "--run", run,
                "--bootstrap-servers", bootstrap, "--group", group, "--checkpoint-dir", dir.toString(),
                "--checkpoint-every", every));
        if (trace != null) {
            args.addAll(List.of("--trace", trace.toString()));
        }
        args.addAll(extra);
        return launch(args, log);
    }

    private static Process launch(List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(PythonExamples.PYTHON));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("PYTHONPATH", root.resolve("python").toString());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    /** Waits for a process's exit 0 and returns its last output line. */
    private static String finish(Process p, Path log) throws Exception {
        if (!p.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            killTree(p);
            throw new AssertionError("no exit within " + DEADLINE + ": " + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        List<String> lines = out.lines().filter(l -> l.startsWith("{")).toList();
        assertThat(lines).as(out).isNotEmpty();
        return lines.get(lines.size() - 1);
    }

    /** kill -9 of the launcher and every rank. */
    private static void killTree(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    private static long steps(Path trace) {
        try {
            return Files.exists(trace) ? Files.readAllLines(trace).stream().filter(l -> l.startsWith("step ")).count() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static JsonNode json(String line) throws IOException {
        return new ObjectMapper().readTree(line);
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check c, String what) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!c.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20); // polling interval of the condition, not a wait for an outcome
        }
    }
}
