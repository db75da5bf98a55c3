package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.FeatureBatchValidator;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.InvalidBatchException;
import io.kdstream.codec.PythonExamples;
import io.kdstream.codec.RecordHeaderNames;
import io.kdstream.manifest.RunSpec;
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
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A producer kdstream did not write ({@code examples/hostile_producer.py}, Python confluent-kafka)
 * puts 40 kinds of malformed and adversarial values between a teacher's valid batches, plus a
 * replayed copy of a valid batch. The student routes each hostile record to the DLQ with the
 * reason expected for its kind, trains every valid batch exactly once, and decoding any of the
 * values allocates memory bounded by a small multiple of the value's size.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class HostileRecordsIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);

    /** Kind written by the script → the DLQ reason the student must give. */
    static final Map<String, String> EXPECTED = Map.ofEntries(
            Map.entry("empty_value", "truncated"),
            Map.entry("null_value", "truncated"),
            Map.entry("seven_bytes", "truncated"),
            Map.entry("truncated_data", "truncated"),
            Map.entry("truncated_header", "header_length"),
            Map.entry("header_length_beyond_value", "header_length"),
            Map.entry("header_length_2_63", "header_length"),
            Map.entry("header_length_2_64_minus_1", "header_length"),
            Map.entry("header_not_json", "malformed_header"),
            Map.entry("json_nesting_bomb", "malformed_header"),
            Map.entry("metadata_nesting_bomb", "malformed_header"),
            Map.entry("header_is_array", "malformed_header"),
            Map.entry("metadata_not_string", "malformed_header"),
            Map.entry("duplicate_json_keys", "malformed_header"),
            Map.entry("wrong_dtype_labels", "unknown_dtype"),
            Map.entry("unknown_dtype", "unknown_dtype"),
            Map.entry("shape_product_overflow", "shape_mismatch"),
            Map.entry("shape_dim_2_64", "shape_mismatch"),
            Map.entry("shape_negative", "shape_mismatch"),
            Map.entry("offsets_outside_buffer", "truncated"),
            Map.entry("offsets_negative", "bad_offsets"),
            Map.entry("offsets_overlap", "bad_offsets"),
            Map.entry("missing_tensor", "missing_tensor"),
            Map.entry("row_count_mismatch", "batch_size_mismatch"),
            Map.entry("nan_features", "non_finite"),
            Map.entry("inf_features", "non_finite"),
            Map.entry("wrong_teacher_id", "manifest_mismatch"),
            Map.entry("wrong_run_id", "manifest_mismatch"),
            Map.entry("wrong_dims", "manifest_mismatch"),
            Map.entry("wrong_feature_dtype", "manifest_mismatch"),
            Map.entry("epoch_out_of_range", "manifest_mismatch"),
            Map.entry("batch_index_max_int", "manifest_mismatch"),
            Map.entry("epoch_not_int", "bad_metadata"),
            Map.entry("schema_version_unknown", "bad_metadata"),
            Map.entry("label_out_of_range", "manifest_mismatch"),
            Map.entry("unknown_sample_id", "manifest_mismatch"),
            Map.entry("inputs_in_reference_mode", "manifest_mismatch"),
            Map.entry("valid_looking_15mib", "manifest_mismatch"),
            Map.entry("value_at_size_limit", "manifest_mismatch"),
            Map.entry("hostile_kafka_headers", "header_length"));

    /** Rounds of every kind; benchmarks/chaos-records.sh raises it for the figures in docs/reliability.md. */
    private static final int REPEAT = Integer.getInteger("kdstream.hostile.repeat", 1);

    @TempDir
    Path tmp;

    @Test
    void everyHostileKindGoesToTheDlqWithItsReasonAndEveryValidBatchIsTrainedOnce(TestKafka kafka)
            throws Exception {
        Prerequisites.assume(Need.PYTHON, PythonExamples.hasModules(), PythonExamples.PYTHON
                + " with numpy and confluent_kafka is not installed "
                + "(apt-get install python3-numpy python3-confluent-kafka)");
        KafkaClients clients = kafka.clients();
        ImageDataset train = DATA.train();
        String ids = LongStream.range(0, train.size()).map(i -> train.sampleId((int) i)).mapToObj(Long::toString)
                .collect(Collectors.joining(","));
        List<String> pythonOut = new ArrayList<>();
        RunSpec spec = FeatureStreams.produce(clients, "hostile-" + UUID.randomUUID(), DATA, 200, 1,
                InputMode.REFERENCE, s -> List.of(), (s, sent) -> {
                    if (sent == 3) { // half the valid batches before the hostile writer, half after
                        pythonOut.addAll(runHostileProducer(kafka.bootstrapServers(), s, ids));
                    }
                });
        assertThat(pythonOut).as("one line per kind plus the replay").hasSize((EXPECTED.size() + 1) * REPEAT);

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        StudentTrainer.Result r = StudentTrainer.builder().setClients(clients).setRun(spec).setGroup("hostile")
                .setCheckpointDir(tmp.resolve("ckpt")).setInputNormalization(InputNormalization.forDataset(train))
                .optTrainData(train).optIdleTimeout(Duration.ofSeconds(30)).optRegistry(registry)
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP).optLr(3e-3).optWeightDecay(1e-4)
                        .optSchedule(LrSchedule.Kind.COSINE).optWarmupSteps(5).optSeed(1L).build())
                .build().run();

        // the row of docs/reliability.md (printed before the assertions, so a failing run reports too)
        System.out.printf("| hostile records: %d kinds from Python confluent-kafka, plus a replayed valid batch, "
                        + "between %d valid batches | %d | %d | %d | 0 | `benchmarks/chaos-records.sh %d` |%n",
                EXPECTED.size(), spec.batchesPerEpoch(), (EXPECTED.size() + 1) * REPEAT,
                spec.batchesPerEpoch() - r.trainedBatches(), r.steps() - r.trainedBatches(), REPEAT);
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.trainedBatches()).as("every valid batch trained").isEqualTo(spec.batchesPerEpoch());
        assertThat(r.steps()).as("and each once").isEqualTo(spec.batchesPerEpoch());
        assertThat(r.duplicatesSkipped()).as("the replayed valid record is skipped").isEqualTo(REPEAT);
        assertThat(r.rejected()).isEqualTo((long) EXPECTED.size() * REPEAT);

        List<ConsumerRecord<String, byte[]>> dlq = TestTopics.readFromStart(clients, new RunTopics(spec.runId()).dlq(),
                "read_committed", EXPECTED.size() * REPEAT);
        assertThat(dlq).hasSize(EXPECTED.size() * REPEAT);
        Map<String, String> reasons = new HashMap<>();
        for (ConsumerRecord<String, byte[]> rec : dlq) {
            String kind = header(rec, "hostile.kind");
            String reason = header(rec, RecordHeaderNames.DLQ_REASON);
            String earlier = reasons.put(kind, reason);
            assertThat(earlier).as("same reason for every %s", kind).isIn(null, reason);
        }
        assertThat(reasons).as("DLQ reason per hostile kind").isEqualTo(EXPECTED);
        ConsumerRecord<String, byte[]> atLimit = dlq.stream()
                .filter(rec -> "value_at_size_limit".equals(header(rec, "hostile.kind"))).findFirst().orElseThrow();
        assertThat(atLimit.value()).as("a value too large to forward with our headers is left out").isNull();
        assertThat(Integer.parseInt(header(atLimit, RecordHeaderNames.DLQ_VALUE_OMITTED))).isGreaterThan(16_000_000);
        double counted = registry.get(DeadLetterQueue.METRIC).counters().stream().mapToDouble(c -> c.count()).sum();
        assertThat(counted).isEqualTo(EXPECTED.size() * REPEAT);

        // Bounded memory: decoding and validating any hostile value allocates at most a small multiple
        // of its own size (a 2^63 header length or an overflowing shape must not size an allocation).
        FeatureBatchValidator validator = new FeatureBatchValidator(spec).withSampleIds(train::contains);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (ConsumerRecord<String, byte[]> rec : dlq) {
            byte[] value = rec.value();
            if (value == null) {
                continue;
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            try {
                validator.validate(FeatureBatch.decode(value));
                throw new AssertionError(header(rec, "hostile.kind") + " decoded as valid");
            } catch (InvalidBatchException expected) {
                // what the student did too
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertThat(allocated).as("bytes allocated decoding %s (%d bytes)", header(rec, "hostile.kind"), value.length)
                    .isLessThan(3L * value.length + 8L * 1024 * 1024);
        }
    }

    private static String header(ConsumerRecord<String, byte[]> rec, String name) {
        Header h = rec.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private List<String> runHostileProducer(String bootstrap, RunSpec spec, String sampleIds) throws Exception {
        Path idsFile = tmp.resolve("ids.txt"); // 1,200 ids: keep the command line short for the log
        Files.writeString(idsFile, sampleIds);
        List<String> cmd = List.of(PythonExamples.PYTHON, PythonExamples.script("hostile_producer.py").toString(),
                "--bootstrap-servers", bootstrap,
                "--topic", new RunTopics(spec.runId()).features(), "--run", spec.runId(),
                "--teacher-id", spec.teacherId(), "--normalization", spec.normalization().configName(),
                "--dim", Integer.toString(spec.featureDim()), "--batch-size", Integer.toString(spec.batchSize()),
                "--epochs", Integer.toString(spec.epochs()),
                "--batches-per-epoch", Integer.toString(spec.batchesPerEpoch()),
                "--num-classes", Integer.toString(spec.numClasses()), "--sample-ids", "@" + idsFile,
                "--repeat", Integer.toString(REPEAT));
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(cmd), tmp, "hostile")) {
            return p.assertSuccess(Duration.ofSeconds(120L * REPEAT)).stdout().lines().toList();
        }
    }

}
