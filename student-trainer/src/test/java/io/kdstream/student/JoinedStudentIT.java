package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.InputMode;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.manifest.RunSpec;
import io.kdstream.model.Architecture;
import io.kdstream.service.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * One student joining two runs of different teachers (issue 39): d_t 96 with the inputs inline and
 * d_t 32 by reference, so the pixels travel once. Every batch of every pass is trained once, each
 * run's topic sees the student's group, and a run whose teacher stopped ends at the idle timeout
 * naming the run and the batches it misses.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class JoinedStudentIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 400, 3);

    @TempDir
    Path tmp;

    private StudentTrainer.Builder trainer(KafkaClients clients, List<RunSpec> runs, String group, Path dir,
                                           int replayEpochs) {
        ImageDataset train = DATA.train();
        return StudentTrainer.builder().setClients(clients).setRuns(runs).setGroup(group).setCheckpointDir(dir)
                .setInputNormalization(InputNormalization.forDataset(train)).optTrainData(train).optPrefetch(2)
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP).optLr(3e-3).optWarmupSteps(2)
                        .optReplayEpochs(replayEpochs).optSeed(1L).build());
    }

    /**
     * Two teachers' runs of the same batches: d_t 96 with the inputs inline, d_t 32 by reference
     * ({@code first}: raw records ahead of its batches).
     */
    private static List<RunSpec> twoRuns(KafkaClients clients, String prefix, int batchSize, int epochs,
                                         Function<RunSpec, List<ProducerRecord<String, byte[]>>> first)
            throws Exception {
        String id = UUID.randomUUID().toString();
        return List.of(FeatureStreams.produce(clients, prefix + "-wide-" + id, DATA, batchSize, epochs, InputMode.INLINE,
                        96, (e, b) -> true),
                FeatureStreams.produce(clients, prefix + "-narrow-" + id, DATA, batchSize, epochs, InputMode.REFERENCE,
                        32, first, (e, b) -> true));
    }

    @Test
    void twoRunsOfDifferentWidthsTrainEveryBatchOfEveryPassOnceAndEachRunsTopicSeesTheGroup(TestKafka kafka)
            throws Exception {
        KafkaClients clients = kafka.clients();
        // an undecodable record first in the narrow run: it goes to that run's DLQ, not the other's
        List<RunSpec> runs = twoRuns(clients, "join", 50, 2, spec -> List.of(new ProducerRecord<>(
                new RunTopics(spec.runId()).features(), "0/0", "not safetensors".getBytes(StandardCharsets.UTF_8))));
        RunSpec wide = runs.get(0);
        RunSpec narrow = runs.get(1);
        Path trace = tmp.resolve("trace");
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student");
        StudentTrainer.Result r;
        try (StepTrace steps = StepTrace.open(trace)) {
            // the reference run first: the inputs still come from the inline one
            r = trainer(clients, List.of(narrow, wide), "joined", tmp.resolve("ckpt"), 1).optCheckpointEvery(5)
                    .optRegistry(registry).addListener(steps).optIdleTimeout(Duration.ofSeconds(30)).build().run();
        }

        int perPass = wide.epochs() * wide.batchesPerEpoch();
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.trainedBatches()).isEqualTo(2 * perPass);
        StepTrace.Replay replay = StepTrace.replay(trace);
        assertThat(replay.missing(2, wide.epochs(), wide.batchesPerEpoch())).isEmpty();
        assertThat(replay.duplicates()).isZero();

        assertThat(r.rejected()).as("the poison, once per pass").isEqualTo(2);
        try (Admin admin = Admin.create(clients.admin())) {
            assertThat(endOffset(admin, new RunTopics(narrow.runId()).dlq())).as("narrow run's DLQ").isEqualTo(1);
            assertThat(endOffset(admin, new RunTopics(wide.runId()).dlq())).as("wide run's DLQ").isZero();
        }
        // the checkpoint holds both runs' positions: run i's partition p is i*65536+p
        Checkpoint last = new CheckpointStore(tmp.resolve("ckpt"), 1).latestValid().orElseThrow();
        assertThat(last.offsets()).containsKeys(0, JoinedFeed.slot(1, 0));
        assertThat(last.attributes().get("run_id")).isEqualTo(narrow.runId() + "+" + wide.runId());
        // each run's teachers see the group's position on their own topic (flow control)
        try (Admin admin = Admin.create(clients.admin())) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("joined")
                    .partitionsToOffsetAndMetadata().get();
            assertThat(committed).containsKeys(new TopicPartition(new RunTopics(wide.runId()).features(), 0),
                    new TopicPartition(new RunTopics(narrow.runId()).features(), 0));
        }
        String scrape = registry.scrape();
        for (String run : List.of(wide.runId(), narrow.runId())) {
            assertThat(scrape).contains("kdstream_student_consumer_lag_records{joined_run=\"" + run + "\"",
                    "kdstream_student_join_wait_seconds_count{joined_run=\"" + run + "\"");
        }
    }

    @Test
    void recordsDeletedFromOneRunStopTheJoinedStudentAsTheyStopOneRunsStudent(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        List<RunSpec> runs = twoRuns(clients, "join-gone", 100, 1, spec -> List.of());
        TopicPartition narrow = new TopicPartition(new RunTopics(runs.get(1).runId()).features(), 0);
        try (Admin admin = Admin.create(clients.admin())) {
            admin.deleteRecords(Map.of(narrow, RecordsToDelete.beforeOffset(2))).all().get();
        }

        assertThatThrownBy(() -> trainer(clients, runs, "gone", tmp.resolve("gone"), 0).build().run())
                .isInstanceOf(BatchesGoneException.class)
                .hasMessageContaining(narrow.topic() + "-0 offsets 0..1 are gone");
    }

    private static long endOffset(Admin admin, String topic) throws Exception {
        TopicPartition tp = new TopicPartition(topic, 0);
        return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
    }

    /** Bring your own: a TorchScript student joins as a zoo one does; student.pt is the module alone. */
    @Test
    void aTorchScriptStudentTrainsOnJoinedRunsAndIsExportedWithoutTheProjections(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        List<RunSpec> runs = twoRuns(clients, "join-ts", 100, 1, spec -> List.of());
        RunSpec wide = runs.get(0);
        RunSpec narrow = runs.get(1);
        Path dir = tmp.resolve("ts");
        StudentTrainer.Result r = trainer(clients, runs, "joined-ts", dir, 0)
                .optConfig(StudentConfig.builder().optTorchScriptStudent(TorchScriptStudentTest.fixture("tiny_student.pt"),
                        "features,logits").optLr(3e-3).optWarmupSteps(1).build())
                .optIdleTimeout(Duration.ofSeconds(30)).build().run();

        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.trainedBatches()).isEqualTo(wide.batchesPerEpoch());
        Checkpoint last = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        assertThat(last.tensors().keySet()).as("one projection per teacher in the checkpoint")
                .anyMatch(k -> k.startsWith("param/proj/" + wide.runId()))
                .anyMatch(k -> k.startsWith("param/proj/" + narrow.runId()));
        Path exported = dir.resolve(TorchScriptStudent.EXPORT_FILE);
        assertThat(exported).isRegularFile();
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager("PyTorch");
             TorchScriptStudent back = new TorchScriptStudent(new TorchScriptStudent.Source(exported,
                     "features,logits"), m, 1L, 1, 28, 28, 10);
             TorchScriptStudent given = new TorchScriptStudent(new TorchScriptStudent.Source(
                     TorchScriptStudentTest.fixture("tiny_student.pt"), "features,logits"), m, 1L, 1, 28, 28, 10)) {
            assertThat(back.trainableParameters().keySet()).as("the student's own parameters, no projection")
                    .isEqualTo(given.trainableParameters().keySet());
        }
    }

    @Test
    void aRunWhoseTeacherStoppedEndsAtTheIdleTimeoutNamingTheRunAndTheBatchesItMisses(TestKafka kafka)
            throws Exception {
        KafkaClients clients = kafka.clients();
        String id = UUID.randomUUID().toString();
        RunSpec whole = FeatureStreams.produce(clients, "join-whole-" + id, DATA, 50, 1, InputMode.INLINE, 96,
                (e, b) -> true);
        RunSpec stopped = FeatureStreams.produce(clients, "join-stopped-" + id, DATA, 50, 1, InputMode.REFERENCE, 32,
                (e, b) -> b < 3);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        ((Logger) LoggerFactory.getLogger(StudentTrainer.class)).addAppender(lines);
        try {
            StudentTrainer.Result r = trainer(clients, List.of(whole, stopped), "idle", tmp.resolve("idle"), 0)
                    .optIdleTimeout(Duration.ofSeconds(2)).build().run();

            assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.IDLE_TIMEOUT);
            assertThat(r.trainedBatches()).isEqualTo(3);
        } finally {
            ((Logger) LoggerFactory.getLogger(StudentTrainer.class)).detachAppender(lines);
        }
        // prefetch 2: the whole run's next two batches wait, and its consumer is paused
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).anySatisfy(m -> assertThat(m)
                .contains("stopping with 3 of " + whole.batchesPerEpoch() + " batches trained; run "
                        + stopped.runId() + " misses 2 batch(es) the others delivered: 0/3, 0/4"));
    }
}
