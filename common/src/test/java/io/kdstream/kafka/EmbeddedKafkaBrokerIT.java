package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.broker.EmbeddedKafkaBroker;

@ExtendWith(KafkaExtension.class)
class EmbeddedKafkaBrokerIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void producesAndConsumesIncludingARecordOfSeveralMegabytes(TestKafka kafka) throws Exception {
        String topic = "roundtrip-" + UUID.randomUUID();
        KafkaClients clients = kafka.clients();
        TestTopics.create(clients, topic, 2);
        List<String> sent = new ArrayList<>();
        byte[] big = new byte[6 * 1024 * 1024];
        new java.util.Random(1).nextBytes(big);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("rt"))) {
            for (int i = 0; i < 50; i++) {
                p.send(new ProducerRecord<>(topic, "k" + i, ("v" + i).getBytes())).get();
                sent.add("k" + i);
            }
            p.send(new ProducerRecord<>(topic, "big", big)).get();
            sent.add("big");
        }
        List<ConsumerRecord<String, byte[]>> got = TestTopics.readFromStart(clients, topic, "read_committed", sent.size());
        assertThat(got).extracting(ConsumerRecord::key).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(got.stream().filter(r -> r.key().equals("big")).findFirst().orElseThrow().value()).isEqualTo(big);
    }

    @Test
    void readCommittedConsumerNeverSeesAbortedRecords(TestKafka kafka) throws Exception {
        String topic = "tx-" + UUID.randomUUID();
        KafkaClients clients = kafka.clients();
        TestTopics.create(clients, topic, 1);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("tx-" + topic))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, "committed-1", new byte[] {1}));
            p.commitTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, "aborted", new byte[] {2})).get();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, "committed-2", new byte[] {3}));
            p.commitTransaction();
        }
        assertThat(TestTopics.readFromStart(clients, topic, "read_committed", 2)).extracting(ConsumerRecord::key)
                .containsExactly("committed-1", "committed-2");
        // The aborted record really reached the log: an uncommitted reader sees it.
        assertThat(TestTopics.readFromStart(clients, topic, "read_uncommitted", 3)).extracting(ConsumerRecord::key)
                .containsExactly("committed-1", "aborted", "committed-2");
    }

    @Test
    void restartsOnItsDataDirectoryWithTopicsRecordsAndGroupOffsetsIntact(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("kafka");
        String topic = "durable";
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().optDataDir(data).build().start()) {
            KafkaClients clients = KafkaClients.of(broker.bootstrapServers());
            TestTopics.create(clients, topic, 1);
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("durable"))) {
                for (int i = 0; i < 10; i++) {
                    p.send(new ProducerRecord<>(topic, "k" + i, new byte[] {(byte) i})).get();
                }
            }
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer("g", "g-1"))) {
                c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(4)));
            }
        }
        assertThat(Files.exists(data.resolve("meta.properties"))).isTrue();

        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().optDataDir(data).build().start()) {
            KafkaClients clients = KafkaClients.of(broker.bootstrapServers());
            assertThat(TestTopics.readFromStart(clients, topic, "read_committed", 10)).extracting(ConsumerRecord::key)
                    .containsExactly("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9");
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer("g", "g-2"))) {
                assertThat(c.committed(java.util.Set.of(new TopicPartition(topic, 0)), TIMEOUT)
                        .get(new TopicPartition(topic, 0)).offset()).isEqualTo(4);
            }
        }

        // a clean start on the same directory is a new, empty cluster
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().optDataDir(data).optCleanStart(true)
                .build().start();
             Admin admin = Admin.create(KafkaClients.of(broker.bootstrapServers()).admin())) {
            assertThat(admin.listTopics().names().get()).doesNotContain(topic);
        }
    }
}
