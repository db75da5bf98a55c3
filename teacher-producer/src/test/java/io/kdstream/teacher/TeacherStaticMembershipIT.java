package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/**
 * Static membership of the teachers' work group ({@code group.instance.id} from
 * {@code --instance-id}), with real teacher processes: a teacher killed with kill -9 and restarted
 * with the same id works again long before the dead member's session would have expired; two
 * live teachers started with the same id end with the older one exiting
 * {@value TeacherCommand#EXIT_FENCED} on one line while the newer one carries on, and nothing is
 * duplicated either way.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class TeacherStaticMembershipIT {

    /** The work consumer's session timeout here: without static membership a restart idles this long. */
    private static final Duration SESSION = Duration.ofSeconds(90);

    @TempDir
    Path tmp;

    private Path teacherDir;
    private Path clientProps;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void saveTeacher() throws Exception {
        teacherDir = TeacherProcesses.saveCnnTeacher(tmp.resolve("teacher"), 2000);
        clientProps = Files.writeString(tmp.resolve("client.properties"), "session.timeout.ms=" + SESSION.toMillis()
                + "\nheartbeat.interval.ms=3000\n");
    }

    @Test
    void aTeacherRestartedWithTheSameInstanceIdWorksAgainLongBeforeTheSessionTimeout(TestKafka kafka)
            throws Exception {
        String run = "static-" + UUID.randomUUID();
        Process first = start("first.log", args(kafka, run, "a"));
        awaitCommitting(kafka, run, first, "first.log");
        first.destroyForcibly().waitFor(); // SIGKILL: no LeaveGroup, its static membership stays
        long killedAt = System.nanoTime();
        Process second = start("second.log", args(kafka, run, "a"));
        // the restarted process's own progress lines: work items it committed itself (the LSO
        // alone could move by a commit the killed one had already sent)
        await().atMost(SESSION.minusSeconds(30))
                .until(() -> !second.isAlive() || batchesCommitted("second.log") > 0);
        Duration resumed = Duration.ofNanos(System.nanoTime() - killedAt);
        System.out.println("restarted teacher committed its first work item " + resumed.toMillis()
                + " ms after the kill, JVM start included (session.timeout.ms " + SESSION.toMillis() + ")");
        assertThat(second.isAlive()).as("restarted teacher running; log:\n%s", log("second.log")).isTrue();
        assertThat(log("second.log")).contains("static member teacher-a");
        stopExpectingZero(second, "second.log");
        assertEachBatchAtMostOnceInWholeItems(kafka, run);
    }

    @Test
    void twoLiveTeachersWithOneInstanceIdEndWithTheOlderExitingOnOneLineAndTheNewerCarryingOn(TestKafka kafka)
            throws Exception {
        String run = "dup-id-" + UUID.randomUUID();
        Process older = start("older.log", args(kafka, run, "dup"));
        awaitCommitting(kafka, run, older, "older.log");
        Process newer = start("newer.log", args(kafka, run, "dup"));
        assertThat(older.waitFor(120, TimeUnit.SECONDS)).as("the older teacher ends once fenced; log:\n%s",
                log("older.log")).isTrue();
        String olderLog = log("older.log");
        System.out.println("the older teacher's output after it was fenced:\n" + olderLog.lines()
                .filter(l -> !l.startsWith("{")).reduce("", (x, y) -> x + y + "\n"));
        assertThat(older.exitValue()).as("exit code; log:\n%s", olderLog).isEqualTo(TeacherCommand.EXIT_FENCED);
        assertThat(olderLog.lines().filter(l -> l.startsWith("teacher: another teacher process took over "
                + "--instance-id dup")).count()).as("one clear line; log:\n%s", olderLog).isEqualTo(1);
        assertThat(olderLog).as("no stack trace").doesNotContain("\tat ");
        await().atMost(Duration.ofSeconds(60)).until(() -> !newer.isAlive() || batchesCommitted("newer.log") > 0);
        assertThat(newer.isAlive()).as("the newer teacher carries on; log:\n%s", log("newer.log")).isTrue();
        stopExpectingZero(newer, "newer.log");
        assertEachBatchAtMostOnceInWholeItems(kafka, run);
    }

    @AfterEach
    void killLeftovers() {
        started.forEach(Process::destroyForcibly);
    }

    private Process start(String logName, String[] args) throws java.io.IOException {
        Process p = TeacherProcesses.start(tmp.resolve(logName), args);
        started.add(p);
        return p;
    }

    /** Waits until the run has committed work items, the teacher still running. */
    private void awaitCommitting(TestKafka kafka, String run, Process teacher, String logName) throws Exception {
        await().atMost(Duration.ofSeconds(120)).until(() -> !teacher.isAlive() || committed(kafka, run) >= 10);
        assertThat(teacher.isAlive()).as("teacher still running; log:\n%s", log(logName)).isTrue();
    }

    /** SIGTERM: the teacher aborts its open transaction, leaves the group and exits 0. */
    private void stopExpectingZero(Process teacher, String logName) throws Exception {
        teacher.destroy();
        assertThat(teacher.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s").isTrue();
        assertThat(teacher.exitValue()).as("exit code after SIGTERM; log:\n%s", log(logName)).isZero();
    }

    /** A long run (1,600 batches in items of 4) that the test stops itself, so it never races the run's end. */
    private String[] args(TestKafka kafka, String run, String instance) {
        return new String[] {"--run", run, "--bootstrap-servers", kafka.bootstrapServers(), "--kafka-config",
                clientProps.toString(), "--teacher", teacherDir.toString(), "--train-limit", "2000", "--epochs", "40",
                "--batch-size", "50", "--batches-per-item", "4", "--augment", "flip", "--progress-interval", "1",
                "--instance-id", instance, "--transaction-timeout", "PT20S"};
    }

    /** What a read_committed reader sees: no (epoch, batch) twice, and whole work items of 4 only. */
    private static void assertEachBatchAtMostOnceInWholeItems(TestKafka kafka, String run) {
        List<String> keys = TestTopics.readToEnd(kafka.clients(), new RunTopics(run).features()).stream()
                .map(ConsumerRecord::key).toList();
        assertThat(keys).as("committed batches").doesNotHaveDuplicates().isNotEmpty();
        assertThat(keys.size() % 4).as("only whole work items of 4 batches").isZero();
    }

    /** The last stable offset of the features topic: it moves at each committed work item. */
    private static long committed(TestKafka kafka, String run) {
        KafkaClients clients = kafka.clients();
        Map<String, Object> cfg = clients.consumer(null, "probe");
        cfg.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            String topic = new RunTopics(run).features();
            var parts = c.partitionsFor(topic, Duration.ofSeconds(5));
            if (parts == null || parts.isEmpty()) {
                return 0;
            }
            List<TopicPartition> tps = new ArrayList<>();
            parts.forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
            return c.endOffsets(tps, Duration.ofSeconds(5)).values().stream().mapToLong(Long::longValue).sum();
        } catch (RuntimeException e) {
            return 0; // not created yet
        }
    }

    /** Batches the process committed itself, from its last JSON progress line (0 before the first). */
    private long batchesCommitted(String logName) throws java.io.IOException {
        // a line cut by the kill is no event
        return log(logName).lines().flatMap(l -> ProgressEvent.parse(l, TeacherProgress.class).stream())
                .reduce((a, b) -> b).map(TeacherProgress::batches).orElse(0L);
    }

    private String log(String name) throws java.io.IOException {
        Path f = tmp.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }
}
