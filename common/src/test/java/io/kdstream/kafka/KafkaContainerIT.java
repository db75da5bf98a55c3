package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import io.kdstream.codec.RecordLimits;

/**
 * The Testcontainers path of {@link KafkaExtension}, which the other ITs take only where a Docker
 * engine exists: its container takes a record of the largest batch size kdstream allows, inside a
 * transaction. Skipped (not failed) without a Docker engine.
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerIT {

    @Container
    static final KafkaContainer KAFKA = KafkaExtension.Cluster.container();

    @Test
    void containerTakesTheLargestBatchInATransaction() throws Exception {
        KafkaClients clients = KafkaClients.of(KAFKA.getBootstrapServers());
        String topic = "largest-" + UUID.randomUUID();
        TestTopics.create(clients, topic, 1);
        byte[] largest = new byte[RecordLimits.DEFAULT_MAX_RECORD_BYTES];
        new java.util.Random(7).nextBytes(largest);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("tx-" + topic))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, "0/0", largest)).get();
            p.commitTransaction();
        }
        List<ConsumerRecord<String, byte[]>> got = TestTopics.readFromStart(clients, topic, "read_committed", 1);
        assertThat(got).singleElement().satisfies(r -> assertThat(r.value()).isEqualTo(largest));
    }
}
