package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.model.Architecture;

/**
 * Records deleted from {@code <run>.features} (admin {@code deleteRecords}, as retention would)
 * before a student read them: the student stops within seconds with one line naming the run and
 * the missing range, never skipping them and never idling until {@code --idle-timeout}.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class DeletedBatchesIT {

    /** 1,200 samples in batches of 75: 16 batches per epoch, at offsets 0..15 (no transactions). */
    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);
    private static final Duration IDLE = Duration.ofMinutes(5);

    @TempDir
    Path tmp;

    @Test
    void aFreshGroupOnATruncatedTopicIsToldBeforeItTrains(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "trunc-" + UUID.randomUUID(), DATA, 75, 1,
                InputMode.INLINE);
        deleteBefore(kafka.clients(), spec, 3);
        AtomicInteger steps = new AtomicInteger();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, 0).addListener(counting(steps)).build().run())
                .isInstanceOf(BatchesGoneException.class)
                .hasMessageContaining("run " + spec.runId() + ": ")
                .hasMessageContaining(spec.runId() + ".features-0 offsets 0..2 are gone")
                .hasMessageContaining("log start offset moved to 3")
                .hasMessageContaining("missing (epoch, batch): from the first of this partition up to before (0, 3)")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(steps).as("nothing trained").hasValue(0);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("told at once, not after --idle-timeout")
                .isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void recordsDeletedUnderAReadingStudentStopItWithinSeconds(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "under-" + UUID.randomUUID(), DATA, 75, 1,
                InputMode.INLINE);
        // one record per fetch, so what is deleted ahead of the student is not in its memory yet
        KafkaClients clients = kafka.clients().with(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1);
        AtomicInteger steps = new AtomicInteger();
        AtomicLong deletedAt = new AtomicLong();
        StudentTrainer.Builder b = trainer(clients, spec, 0).optPrefetch(1).addListener(new StudentListener() {
            @Override
            public void onStep(StepEvent e) {
                steps.incrementAndGet();
                if (e.step() == 2) {
                    deleteBefore(kafka.clients(), spec, 10);
                    deletedAt.set(System.nanoTime());
                }
            }
        });
        assertThatThrownBy(() -> b.build().run()).isInstanceOf(BatchesGoneException.class)
                .hasMessageContaining("run " + spec.runId() + ": ")
                .hasMessageContaining("..9 are gone")
                .hasMessageContaining("log start offset moved to 10")
                .hasMessageMatching(".*missing \\(epoch, batch\\): after \\(0, [2-9]\\) up to before \\(0, 10\\)$");
        assertThat(Duration.ofNanos(System.nanoTime() - deletedAt.get())).as("within seconds of the deletion")
                .isLessThan(Duration.ofSeconds(10));
        assertThat(steps.get()).as("no batch past the gap was trained").isLessThan(10);
    }

    @Test
    void recordsAReplayNeedsDeletedAfterTheyWereReadStopTheStudentBeforeTheReplay(TestKafka kafka)
            throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "replay-" + UUID.randomUUID(), DATA, 75, 1,
                InputMode.INLINE);
        AtomicInteger steps = new AtomicInteger();
        StudentTrainer.Builder b = trainer(kafka.clients(), spec, 1).addListener(new StudentListener() {
            @Override
            public void onStep(StepEvent e) {
                steps.incrementAndGet();
                if (e.step() == 4) {
                    deleteBefore(kafka.clients(), spec, 2); // read already, but pass 2 replays them
                }
            }
        });
        assertThatThrownBy(() -> b.build().run()).isInstanceOf(BatchesGoneException.class)
                .hasMessageContaining(spec.runId() + ".features-0 offsets 0..1 are gone")
                .hasMessageContaining("up to before (0, 2)");
        assertThat(steps.get()).as("the replay trained nothing").isLessThanOrEqualTo(spec.batchesPerEpoch());
    }

    private StudentTrainer.Builder trainer(KafkaClients clients, RunSpec spec, int replays) {
        ImageDataset train = DATA.train();
        return StudentTrainer.builder().setClients(clients).setRun(spec).setGroup("g-" + UUID.randomUUID())
                .setCheckpointDir(tmp.resolve(UUID.randomUUID().toString()))
                .setInputNormalization(InputNormalization.forDataset(train)).optTrainData(train).optIdleTimeout(IDLE)
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP).optLr(3e-3).optWeightDecay(1e-4)
                        .optSchedule(LrSchedule.Kind.COSINE).optWarmupSteps(5).optReplayEpochs(replays).optSeed(1L)
                        .build());
    }

    private static StudentListener counting(AtomicInteger steps) {
        return new StudentListener() {
            @Override
            public void onStep(StepEvent e) {
                steps.incrementAndGet();
            }
        };
    }

    static void deleteBefore(KafkaClients clients, RunSpec spec, long offset) {
        try (Admin admin = Admin.create(clients.admin())) {
            admin.deleteRecords(Map.of(new TopicPartition(new RunTopics(spec.runId()).features(), 0),
                    RecordsToDelete.beforeOffset(offset))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("deleteRecords failed", e);
        }
    }
}
