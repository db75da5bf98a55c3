package io.kdstream.runs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.CommitTimes;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.WhiteningStore;
import io.kdstream.teacher.RunSetup;
import io.kdstream.teacher.TeacherWorker;
import io.kdstream.vkd.Normalization;

/**
 * {@code kdstream runs list|describe|delete} against the embedded broker: a run set up as a
 * teacher does, its work committed by the teachers' group, feature records, and a student group
 * with stamped commits; delete is refused while a teacher is a member of the run's group and while
 * the student group committed within the grace period, then removes every topic and group.
 */
@ExtendWith(KafkaExtension.class)
class RunsCommandIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int BATCHES = 6;

    @Test
    void listDescribeAndDeleteARunRefusingWhileItIsInUse(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        String run = "runs-" + UUID.randomUUID();
        RunTopics t = prepare(clients, run, "teacher-hash-1");
        // the topic a calibrated-whitening run adds
        new WhiteningStore(clients).ensureTopic(run, (short) -1, TIMEOUT);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("runs-it"))) {
            for (int b = 0; b < BATCHES; b++) {
                p.send(new ProducerRecord<>(t.features(), "0/" + b, new byte[1000])).get();
            }
        }
        commitAllWork(clients, t);
        // a student that trained 4 of 6 batches: lag 2
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer("student-a", "runs-it"))) {
            c.commitSync(Map.of(new TopicPartition(t.features(), 0), CommitTimes.stamped(4, Instant.now())));
        }

        Kdstream list = kdstream(clients, "runs", "list");
        assertThat(list.code()).as(list.err()).isZero();
        List<String> lines = list.out().lines().toList();
        int at = lines.indexOf(lines.stream().filter(l -> l.startsWith("run=" + run + " ")).findFirst().orElseThrow());
        String line = lines.get(at);
        assertThat(line).contains("teacher_id=teacher-hash-1", "epochs=1/1", "topics=5", "teachers=0",
                "student_groups=1");
        assertThat(lines.get(at + 1)).as("the run's groups, one per line below it")
                .startsWith("  student-a  state=Empty  members=0  lag=2  last_commit=20").endsWith(" s ago)");
        long bytes = Long.parseLong(line.replaceAll(".*bytes=(\\d+).*", "$1"));
        assertThat(bytes).as("bytes on the broker").isGreaterThan(BATCHES * 1000L);

        Kdstream describe = kdstream(clients, "runs", "describe", run);
        assertThat(describe.code()).as(describe.err()).isZero();
        assertThat(describe.out()).contains("\"teacher_id\":\"teacher-hash-1\"",
                "  " + t.features() + "  cleanup.policy=delete  retention.ms=-1  retention.bytes=-1",
                "  " + t.work() + "  cleanup.policy=delete  retention.ms=-1  retention.bytes=-1",
                "  " + t.manifest() + "  cleanup.policy=compact",
                "  " + t.dlq() + "  cleanup.policy=delete  retention.ms=604800000  retention.bytes=-1",
                "  " + t.whitening() + "  cleanup.policy=compact",
                "  student-a  state=Empty  members=0  lag=2  last_commit=20");
        assertThat(describe.out()).as("each label once").doesNotContain("last commit");

        AtomicBoolean stop = new AtomicBoolean();
        Thread teacher = activeTeacher(clients, t, stop);
        try {
            Kdstream refused = kdstream(clients, "runs", "delete", run, "--grace", "PT0S");
            assertThat(refused.code()).isEqualTo(RunsCommand.EXIT_REFUSED);
            assertThat(refused.err().strip()).startsWith("runs delete: refusing to delete run " + run + ": 1 teacher(s) "
                    + "hold the run").doesNotContain("\n");
        } finally {
            stop.set(true);
            teacher.join(30_000);
        }
        awaitNoMembers(clients, TeacherWorker.groupId(run));

        Kdstream recent = kdstream(clients, "runs", "delete", run);
        assertThat(recent.code()).isEqualTo(RunsCommand.EXIT_REFUSED);
        assertThat(recent.err()).contains("student group student-a committed at ", "within the grace period of PT1H");
        assertThat(topics(clients)).as("nothing deleted after a refusal").containsAll(t.all());

        Kdstream deleted = kdstream(clients, "runs", "delete", run, "--grace", "PT0S");
        assertThat(deleted.code()).as(deleted.err()).isZero();
        assertThat(deleted.out()).contains("deleted group student-a", "deleted group " + TeacherWorker.groupId(run),
                "deleted topic " + t.features(), "deleted topic " + t.manifest(), "deleted topic " + t.whitening(),
                "run " + run + " deleted");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (t.allIncludingOptional().stream().anyMatch(topics(clients)::contains) && System.nanoTime() < deadline) {
            Thread.sleep(100); // topic deletion completes asynchronously on the controller
        }
        assertThat(topics(clients)).doesNotContainAnyElementsOf(t.allIncludingOptional());
        try (Admin admin = Admin.create(clients.admin())) {
            assertThat(admin.listGroups().all().get(30, TimeUnit.SECONDS)).noneMatch(g ->
                    g.groupId().equals("student-a") || g.groupId().equals(TeacherWorker.groupId(run)));
        }
        assertThat(kdstream(clients, "runs", "list").out()).doesNotContain("run=" + run + " ");
    }

    @Test
    void describingOrDeletingAnUnknownRunSaysSo(TestKafka kafka) {
        Kdstream r = kdstream(kafka.clients(), "runs", "delete", "no-such-run");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no run no-such-run (no topic no-such-run.manifest)");
    }

    /**
     * Lag counts what a group can still read: a group that trained every batch of a transactional
     * run commits the offset after its last record, which is the transaction's commit marker; it
     * shows lag 0 (it showed 1). A group that trained half shows the records left, not the markers.
     */
    @Test
    void aGroupThatReadEveryBatchOfATransactionalRunShowsLagZero(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        String run = "lag-" + UUID.randomUUID();
        RunTopics t = prepare(clients, run, "teacher-hash-2");
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("lag-it-" + run))) {
            p.initTransactions();
            for (int item = 0; item < BATCHES / 2; item++) { // two batches per transaction, as a teacher's item
                p.beginTransaction();
                p.send(new ProducerRecord<>(t.features(), "0/" + 2 * item, new byte[100]));
                p.send(new ProducerRecord<>(t.features(), "0/" + (2 * item + 1), new byte[100]));
                p.commitTransaction();
            }
        }
        // offsets: 0,1 data, 2 marker, 3,4 data, 5 marker, 6,7 data, 8 marker
        TopicPartition tp = new TopicPartition(t.features(), 0);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer("done", "lag-it"));
             KafkaConsumer<String, byte[]> h = new KafkaConsumer<>(clients.consumer("half", "lag-it"))) {
            c.commitSync(Map.of(tp, CommitTimes.stamped(8, Instant.now()))); // after its last record
            h.commitSync(Map.of(tp, CommitTimes.stamped(3, Instant.now()))); // read the first item
        }

        Kdstream list = kdstream(clients, "runs", "list");
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).contains("  done  state=Empty  members=0  lag=0  ", "  half  state=Empty  members=0  lag=4  ");
        Kdstream describe = kdstream(clients, "runs", "describe", run);
        assertThat(describe.out()).contains("  done  state=Empty  members=0  lag=0  ");
    }

    /** Every runs command says the same one line when no broker answers, and takes no metrics port. */
    @Test
    void anUnreachableBrokerIsOneLineInEveryRunsCommand() {
        List<String> nobody = List.of("--bootstrap-servers", "127.0.0.1:9", "--kafka-timeout", "1s");
        for (String[] cmd : new String[][] {{"runs", "list"}, {"runs", "describe", "r"}, {"runs", "delete", "r"}}) {
            Kdstream r = Kdstream.run(nobody, cmd);
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo(String.join(" ", cmd).replaceFirst(" r$", "") + ": no Kafka broker "
                    + "answered at 127.0.0.1:9 within 1 s (is Kafka reachable? check --bootstrap-servers, --kafka-config, "
                    + "--kafka-timeout)");
            Kdstream metrics = Kdstream.run(List.of("--bootstrap-servers", "127.0.0.1:9", "--metrics-port", "0"), cmd);
            assertThat(metrics.code()).as("a one-shot command serves no metrics").isEqualTo(2);
            assertThat(metrics.err()).contains("Unknown option: '--metrics-port'");
        }
    }

    /** A run of {@link #BATCHES} batches set up as a teacher does (manifest and topics), nothing published. */
    private static RunTopics prepare(KafkaClients clients, String run, String teacherId) {
        RunSpec spec = RunSpec.builder().setRunId(run).setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher(teacherId, "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                .optInputMode(InputMode.REFERENCE)
                .setStream(4, BATCHES, 1, 1L).build();
        RunSetup.prepare(clients, spec, new RunSetup.Settings(1, 2, 2, (short) -1, TIMEOUT));
        return new RunTopics(run);
    }

    /** The teachers' group commits past every work item, as after publishing the whole run. */
    private static void commitAllWork(KafkaClients clients, RunTopics t) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(
                clients.consumer(TeacherWorker.groupId(t.runId()), "runs-it-teacher"))) {
            List<TopicPartition> parts = c.partitionsFor(t.work()).stream()
                    .map(p -> new TopicPartition(t.work(), p.partition())).toList();
            Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
            c.endOffsets(parts).forEach((tp, o) -> done.put(tp, new OffsetAndMetadata(o)));
            c.commitSync(done);
        }
    }

    /** A member of the run's teachers' group (subscribed to the work topic) until {@code stop}. */
    private static Thread activeTeacher(KafkaClients clients, RunTopics t, AtomicBoolean stop) throws Exception {
        AtomicBoolean joined = new AtomicBoolean();
        Thread th = new Thread(() -> {
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(
                    clients.consumer(TeacherWorker.groupId(t.runId()), "runs-it-member"))) {
                c.subscribe(List.of(t.work()));
                while (!stop.get()) {
                    c.poll(Duration.ofMillis(100));
                    joined.set(!c.assignment().isEmpty());
                }
            }
        }, "runs-it-teacher");
        th.start();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!joined.get()) {
            assertThat(System.nanoTime()).as("teacher joined its group").isLessThan(deadline);
            Thread.sleep(50);
        }
        return th;
    }

    private static void awaitNoMembers(KafkaClients clients, String group) throws Exception {
        try (Admin admin = Admin.create(clients.admin())) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group).members()
                    .isEmpty()) {
                assertThat(System.nanoTime()).as("teacher left its group").isLessThan(deadline);
                Thread.sleep(100);
            }
        }
    }

    private static Set<String> topics(KafkaClients clients) throws Exception {
        try (Admin admin = Admin.create(clients.admin())) {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS);
        }
    }

    private static Kdstream kdstream(KafkaClients clients, String... args) {
        return Kdstream.run(List.of("--bootstrap-servers", clients.bootstrapServers()), args);
    }
}
