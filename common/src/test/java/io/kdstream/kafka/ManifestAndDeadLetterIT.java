package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.InvalidBatchException;
import io.kdstream.manifest.ManifestMismatchException;
import io.kdstream.codec.RecordHeaderNames;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.TestBatches;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.kdstream.manifest.ManifestStore;

@ExtendWith(KafkaExtension.class)
class ManifestAndDeadLetterIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void firstPublishedManifestWinsAndAMismatchNamesTheFields(TestKafka kafka) {
        String run = "manifest-" + UUID.randomUUID();
        ManifestStore store = new ManifestStore(kafka.clients());
        assertThat(store.read(run, TIMEOUT)).isEmpty();

        RunSpec first = TestBatches.spec(run, 16, 10, InputMode.INLINE);
        assertThat(store.publishIfAbsent(first, TIMEOUT)).isEqualTo(first);

        RunSpec second = TestBatches.spec(run, 32, 0, InputMode.REFERENCE);
        RunSpec manifest = store.publishIfAbsent(second, TIMEOUT);
        assertThat(manifest).isEqualTo(first);
        assertThatThrownBy(() -> manifest.requireMatches(second))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("feature_dim: manifest has 16, configured 32")
                .hasMessageContaining("logit_classes")
                .hasMessageContaining("input_mode");
        assertThat(store.await(run, TIMEOUT)).isEqualTo(first);
    }

    @Test
    void lookingForAManifestCreatesNoTopicAndTheFirstPublishCreatesItCompacted(TestKafka kafka) throws Exception {
        String run = "early-student-" + UUID.randomUUID();
        String topic = new RunTopics(run).manifest();
        ManifestStore store = new ManifestStore(kafka.clients());
        // a student waiting for a teacher that has not started yet
        assertThat(store.read(run, TIMEOUT)).isEmpty();
        try (Admin admin = Admin.create(kafka.clients().admin())) {
            assertThat(admin.listTopics().names().get()).doesNotContain(topic);

            RunSpec spec = TestBatches.spec(run, 16, 10, InputMode.INLINE);
            assertThat(store.publishIfAbsent(spec, TIMEOUT)).isEqualTo(spec);
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
        }
    }

    @Test
    void deadLetterQueueKeepsTheRecordWithReasonAndProvenanceAndCountsIt(TestKafka kafka) {
        String run = "dlq-" + UUID.randomUUID();
        RunTopics topics = new RunTopics(run);
        KafkaClients clients = kafka.clients();
        TestTopics.create(clients, topics.dlq(), 1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();

        byte[] garbage = "not safetensors".getBytes(StandardCharsets.UTF_8);
        InvalidBatchException error;
        try {
            FeatureBatch.decode(garbage);
            throw new AssertionError("garbage decoded");
        } catch (InvalidBatchException e) {
            error = e;
        }
        ConsumerRecord<String, byte[]> bad = new ConsumerRecord<>(topics.features(), 3, 41L, 0L,
                TimestampType.CREATE_TIME, 0, 0, "0/7", garbage, new RecordHeaders(), java.util.Optional.empty());
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(clients.producer("dlq"))) {
            new DeadLetterQueue(producer, topics.dlq(), "student-a", registry, TIMEOUT).send(bad, error);
        }

        List<ConsumerRecord<String, byte[]>> dlq = TestTopics.readFromStart(clients, topics.dlq(),
                "read_committed", 1);
        assertThat(dlq).hasSize(1);
        ConsumerRecord<String, byte[]> r = dlq.get(0);
        assertThat(r.key()).isEqualTo("0/7");
        assertThat(r.value()).isEqualTo(garbage);
        assertThat(header(r, RecordHeaderNames.DLQ_REASON)).isEqualTo(error.reason().tag());
        assertThat(header(r, RecordHeaderNames.DLQ_SOURCE_TOPIC)).isEqualTo(topics.features());
        assertThat(header(r, RecordHeaderNames.DLQ_SOURCE_PARTITION)).isEqualTo("3");
        assertThat(header(r, RecordHeaderNames.DLQ_SOURCE_OFFSET)).isEqualTo("41");
        assertThat(header(r, RecordHeaderNames.DLQ_CONSUMER)).isEqualTo("student-a");
        assertThat(registry.get(DeadLetterQueue.METRIC).tag("reason", error.reason().tag()).counter().count())
                .isEqualTo(1.0);
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
