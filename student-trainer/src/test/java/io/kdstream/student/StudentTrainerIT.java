package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.RecordHeaderNames;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.DeadLetterQueue;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.kdstream.service.MetricsServer;
import io.kdstream.model.Architecture;
import io.kdstream.vkd.Normalization;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

@RequiresDataset
@ExtendWith(KafkaExtension.class)
class StudentTrainerIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);

    @TempDir
    Path tmp;

    private StudentTrainer.Builder trainer(KafkaClients clients, RunSpec spec, String group, Path dir) {
        ImageDataset train = DATA.train();
        return StudentTrainer.builder().setClients(clients).setRun(spec).setGroup(group).setCheckpointDir(dir)
                .setInputNormalization(InputNormalization.forDataset(train)).optTrainData(train)
                .optIdleTimeout(Duration.ofSeconds(30))
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP).optLr(3e-3).optWeightDecay(1e-4)
                        .optSchedule(LrSchedule.Kind.COSINE).optWarmupSteps(5).optSeed(1L).build());
    }

    @Test
    void aShortRunLowersTheLossAndLearnsFashionMnist(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "learn-" + UUID.randomUUID(), DATA, 64, 3,
                InputMode.REFERENCE);
        List<Double> losses = Collections.synchronizedList(new ArrayList<>());
        ImageDataset test = DATA.test().subset(1.0, 1000, 1);
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student");
        StudentTrainer.Result r = trainer(kafka.clients(), spec, "learn", tmp.resolve("ckpt"))
                .optTestData(test).optCheckpointEvery(25).optEvalEvery(20).optRegistry(registry)
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        losses.add(e.ce());
                    }
                }).build().run();

        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.trainedBatches()).isEqualTo(3 * spec.batchesPerEpoch());
        double first = losses.subList(0, 5).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = losses.subList(losses.size() - 5, losses.size()).stream().mapToDouble(d -> d).average().orElseThrow();
        assertThat(last).as("cross-entropy falls").isLessThan(first * 0.6);
        // 1,200 images x 3 epochs with an MLP: well above chance (10%)
        assertThat(r.finalAccuracy()).as("test accuracy on 1,000 Fashion-MNIST images").isGreaterThan(0.6);

        String scrape = registry.scrape();
        assertThat(scrape).contains("kdstream_student_loss{component=\"ce\"", "kdstream_student_loss{component=\"feature\"",
                "kdstream_student_loss{component=\"kd\"", "kdstream_student_orthogonality_error",
                "kdstream_student_samples_total", "kdstream_student_step_seconds_bucket{phase=\"wait\"",
                "kdstream_student_step_seconds_count{phase=\"decode\"", "kdstream_student_step_seconds_count{phase=\"forward\"",
                "kdstream_student_step_seconds_count{phase=\"backward\"", "kdstream_student_consumer_lag_records",
                "kdstream_student_nonfinite_steps_total", "kdstream_student_checkpoint_age_seconds",
                "kdstream_student_eval_accuracy_ratio", "kdstream_student_progress_ratio", "kdstream_student_steps_total");
        assertThat(registry.get("kdstream.student.eval.accuracy").gauge().value()).isEqualTo(r.finalAccuracy());
        assertThat(registry.get("kdstream.student.orthogonality.error").gauge().value()).isBetween(0.0, 1e-4);
    }

    @Test
    void int8FeaturesTrainLikeF16(TestKafka kafka) throws Exception {
        ImageDataset test = DATA.test().subset(1.0, 1000, 1);
        double[] accuracy = new double[2];
        double[] featureLoss = new double[2];
        DType[] dtypes = {DType.F16, DType.I8};
        for (int k = 0; k < 2; k++) {
            RunSpec spec = FeatureStreams.produce(kafka.clients(), "dtype-" + dtypes[k].name().toLowerCase()
                    + "-" + UUID.randomUUID(), DATA, 64, 2, InputMode.REFERENCE, dtypes[k]);
            List<Double> feature = Collections.synchronizedList(new ArrayList<>());
            StudentTrainer.Result r = trainer(kafka.clients(), spec, "dtype", tmp.resolve("ckpt-" + k))
                    .optTestData(test).optCheckpointEvery(1000).optEvalEvery(1000)
                    .addListener(new StudentListener() {
                        @Override
                        public void onStep(StepEvent e) {
                            feature.add(e.feature());
                        }
                    }).build().run();
            assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
            assertThat(r.trainedBatches()).as("%s: every record trained, none refused", dtypes[k])
                    .isEqualTo(2 * spec.batchesPerEpoch());
            accuracy[k] = r.finalAccuracy();
            featureLoss[k] = feature.subList(feature.size() - 5, feature.size()).stream().mapToDouble(d -> d)
                    .average().orElseThrow();
        }
        // the int8 rounding error (≤ max|x|/254 per element) is far below what the student fits
        assertThat(accuracy[1]).as("i8 accuracy vs f16 %s", accuracy[0]).isGreaterThan(0.6)
                .isCloseTo(accuracy[0], org.assertj.core.data.Offset.offset(0.03));
        assertThat(featureLoss[1]).as("i8 feature loss vs f16").isCloseTo(featureLoss[0],
                org.assertj.core.data.Percentage.withPercentage(5));
    }

    @Test
    void killedAndResumedTrainingTrainsEachBatchOnceAndEndsWhereAnUninterruptedRunEnds(TestKafka kafka)
            throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "resume-" + UUID.randomUUID(), DATA, 100, 1,
                InputMode.INLINE);
        int total = spec.batchesPerEpoch();

        Path refDir = tmp.resolve("ref");
        trainer(kafka.clients(), spec, "ref", refDir).optCheckpointEvery(4).build().run();
        Checkpoint reference = new CheckpointStore(refDir, 1).latestValid().orElseThrow();

        Path dir = tmp.resolve("crashy");
        List<String> durable = new ArrayList<>();
        // run 1 dies right after its checkpoint at step 4; run 2 dies between checkpoints, at step 10
        Recorder run1 = new Recorder(4, true);
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, "crashy", dir).optCheckpointEvery(4)
                .addListener(run1).build().run()).isInstanceOf(Crash.class);
        durable.addAll(run1.keysUpTo(4));
        Recorder run2 = new Recorder(10, false);
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, "crashy", dir).optCheckpointEvery(4)
                .addListener(run2).build().run()).isInstanceOf(Crash.class);
        assertThat(run2.firstStep).as("run 2 resumed after step 4").isEqualTo(5);
        durable.addAll(run2.keysUpTo(8));
        Recorder run3 = new Recorder(-1, false);
        StudentTrainer.Result r = trainer(kafka.clients(), spec, "crashy", dir).optCheckpointEvery(4)
                .addListener(run3).build().run();
        assertThat(run3.firstStep).as("run 3 resumed after the checkpoint at step 8").isEqualTo(9);
        durable.addAll(run3.keysUpTo(Long.MAX_VALUE));

        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(durable).as("every batch trained exactly once overall").doesNotHaveDuplicates().hasSize(total);
        Checkpoint resumed = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        assertThat(resumed.step()).isEqualTo(reference.step());
        for (Map.Entry<String, Tensor> e : reference.tensors().entrySet()) {
            float[] want = e.getValue().toFloats();
            float[] got = resumed.tensors().get(e.getKey()).toFloats();
            for (int i = 0; i < want.length; i++) {
                assertThat((double) got[i]).as("%s[%d]", e.getKey(), i)
                        .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-6));
            }
        }
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(kafka.clients().consumer("crashy", "check"))) {
            TopicPartition tp = new TopicPartition(new RunTopics(spec.runId()).features(), 0);
            OffsetAndMetadata committed = c.committed(Set.of(tp)).get(tp);
            assertThat(committed.offset()).as("offsets committed after checkpoints, so lag is visible")
                    .isEqualTo(c.endOffsets(List.of(tp)).get(tp));
        }
    }

    @Test
    void poisonedRecordsGoToTheDlqWithReasonsWhileTrainingGoesOn(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunSpec spec = FeatureStreams.produce(clients, "poison-" + UUID.randomUUID(), DATA, 200, 1, InputMode.INLINE,
                s -> {
                    String topic = new RunTopics(s.runId()).features();
                    FeatureBatch good = FeatureStreams.batch(s, DATA, 0, 0);
                    float[] nan = good.teacherFeatures().toFloats();
                    nan[3] = Float.NaN;
                    FeatureBatch nanBatch = new FeatureBatch(good.metadata(), Tensor.ofFloats(DType.F16,
                            good.teacherFeatures().shape(), nan), null, good.labels(), good.sampleIds(),
                            good.augSeeds(), good.inputs());
                    int b = good.batchSize();
                    FeatureBatch wrongDims = new FeatureBatch(new BatchMetadata(1, s.runId(), 0, 1, s.teacherId(),
                            Normalization.LAYER, "x"), Tensor.ofFloats(DType.F16, new int[] {b, 7}, new float[b * 7]), null,
                            good.labels(), good.sampleIds(), good.augSeeds(), good.inputs());
                    return List.of(new ProducerRecord<>(topic, "0/2", "garbage".getBytes(StandardCharsets.UTF_8)),
                            new ProducerRecord<>(topic, "0/0", nanBatch.encode()),
                            new ProducerRecord<>(topic, "0/1", wrongDims.encode()));
                });
        RunTopics topics = new RunTopics(spec.runId());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        StudentTrainer.Result r = trainer(clients, spec, "poisoned", tmp.resolve("p")).optRegistry(registry).build()
                .run();
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.trainedBatches()).isEqualTo(spec.batchesPerEpoch());
        assertThat(r.rejected()).isEqualTo(3);

        List<String> reasons = TestTopics.readFromStart(clients, topics.dlq(), "read_committed", 3).stream()
                .map(rec -> new String(rec.headers().lastHeader(RecordHeaderNames.DLQ_REASON).value(),
                        StandardCharsets.UTF_8)).toList();
        assertThat(reasons).containsExactlyInAnyOrder("truncated", "non_finite", "manifest_mismatch");
        assertThat(registry.get(DeadLetterQueue.METRIC).tag("reason", "non_finite").counter().count()).isEqualTo(1);
    }

    @Test
    void twoGroupsTrainIndependentlyFromTheSameRecords(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "groups-" + UUID.randomUUID(), DATA, 200, 1,
                InputMode.INLINE);
        StudentTrainer.Result a = trainer(kafka.clients(), spec, "group-a", tmp.resolve("a")).build().run();
        StudentTrainer.Result b = trainer(kafka.clients(), spec, "group-b", tmp.resolve("b")).build().run();
        assertThat(a.trainedBatches()).isEqualTo(spec.batchesPerEpoch());
        assertThat(b.trainedBatches()).as("group b is not affected by group a's progress")
                .isEqualTo(spec.batchesPerEpoch());
    }

    @Test
    void divergingTrainingRestoresTheLastCheckpointAndStops(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "nan-" + UUID.randomUUID(), DATA, 100, 1,
                InputMode.INLINE);
        Path dir = tmp.resolve("d");
        // a sane first process leaves a checkpoint at step 3 and dies right after it
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, "diverge", dir).optCheckpointEvery(3)
                .addListener(new Recorder(3, true)).build().run()).isInstanceOf(Crash.class);
        Checkpoint good = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        assertThat(good.step()).isEqualTo(3);

        // the next one resumes from it with a learning rate that blows the weights up
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Recorder diverging = new Recorder(-1, false);
        StudentTrainer.Builder b = trainer(kafka.clients(), spec, "diverge", dir).optMaxNonFinite(2)
                .optCheckpointEvery(1000).optRegistry(registry).addListener(diverging)
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP)
                        .optOptimizer(ParameterOptimizer.Kind.SGD).optLr(1e12).optWeightDecay(0)
                        .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optSeed(1L).build());
        assertThatThrownBy(() -> b.build().run()).isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("non-finite").hasMessageContaining("restored the last checkpoint");
        assertThat(diverging.firstStep).as("it trained from step 3 on before diverging").isEqualTo(4);
        assertThat(registry.get("kdstream.student.rollbacks").counter().count()).as("one rollback").isEqualTo(1.0);

        // nothing of the diverged state reached the disk: a restart finds step 3's parameters, bit for bit
        Checkpoint after = new CheckpointStore(dir, 1).latestValid().orElseThrow();
        assertThat(after.step()).isEqualTo(3);
        for (Map.Entry<String, Tensor> e : good.tensors().entrySet()) {
            assertThat(after.tensors().get(e.getKey()).toFloats()).as(e.getKey())
                    .containsExactly(e.getValue().toFloats());
        }
        Recorder restart = new Recorder(-1, false);
        StudentTrainer.Result r = trainer(kafka.clients(), spec, "diverge", dir).addListener(restart).build().run();
        assertThat(restart.firstStep).as("the restart resumes from the restored checkpoint").isEqualTo(4);
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
    }

    /** Stands in for the process dying: an Error nothing in the trainer handles. */
    static final class Crash extends Error {
        private static final long serialVersionUID = 1L;

        Crash(String m) {
            super(m);
        }
    }

    /** Records (step, key) and crashes at a step, either right after its checkpoint or at the step itself. */
    static final class Recorder implements StudentListener {
        final List<long[]> steps = new ArrayList<>();
        final List<String> keys = new ArrayList<>();
        final long crashAt;
        final boolean afterCheckpoint;
        long firstStep = -1;

        Recorder(long crashAt, boolean afterCheckpoint) {
            this.crashAt = crashAt;
            this.afterCheckpoint = afterCheckpoint;
        }

        @Override
        public void onStep(StepEvent e) {
            if (firstStep < 0) {
                firstStep = e.step();
            }
            steps.add(new long[] {e.step()});
            keys.add(e.key());
            if (!afterCheckpoint && e.step() == crashAt) {
                throw new Crash("killed at step " + e.step());
            }
        }

        @Override
        public void onCheckpoint(long step, Path file) {
            if (afterCheckpoint && step == crashAt) {
                throw new Crash("killed after the checkpoint of step " + step);
            }
        }

        List<String> keysUpTo(long lastDurableStep) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                if (steps.get(i)[0] <= lastDurableStep) {
                    out.add(keys.get(i));
                }
            }
            return out;
        }
    }
}
