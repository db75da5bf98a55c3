package io.kdstream.kafka;

/** A Kafka cluster an integration test talks to; injected by {@link KafkaExtension}. */
public interface TestKafka {

    String bootstrapServers();

    /** Client settings for this cluster with kdstream's defaults. */
    default KafkaClients clients() {
        return KafkaClients.of(bootstrapServers());
    }

    /** Which implementation serves the tests: "testcontainers" or "embedded". */
    String kind();
}
