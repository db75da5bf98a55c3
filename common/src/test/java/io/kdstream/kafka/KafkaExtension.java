package io.kdstream.kafka;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

import io.kdstream.codec.RecordLimits;

import io.kdstream.broker.EmbeddedKafkaBroker;

/**
 * Gives integration tests a real Kafka cluster, one per test JVM: Testcontainers' Kafka module
 * when a Docker engine is available, otherwise the embedded KRaft broker (the normal path on
 * machines without Docker). The choice is logged. Use it by declaring a {@link TestKafka}
 * parameter in a test or lifecycle method of a class annotated
 * {@code @ExtendWith(KafkaExtension.class)}.
 */
public final class KafkaExtension implements ParameterResolver {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == TestKafka.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return e.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(Cluster.class, k -> Cluster.start(), Cluster.class);
    }

    /** Stored in the root context so JUnit closes it once, when the test JVM's run ends. */
    static final class Cluster implements TestKafka, AutoCloseable {
        private final AutoCloseable resource;
        private final String bootstrap;
        private final String kind;

        private Cluster(AutoCloseable resource, String bootstrap, String kind) {
            this.resource = resource;
            this.bootstrap = bootstrap;
            this.kind = kind;
        }

        static Cluster start() {
            if (Boolean.getBoolean("kdstream.test.embeddedKafka") || !DockerClientFactory.instance().isDockerAvailable()) {
                LOG.info("no Docker engine available: integration tests use the embedded KRaft broker");
                EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start();
                return new Cluster(broker, broker.bootstrapServers(), "embedded");
            }
            LOG.info("Docker engine available: integration tests use Testcontainers' Kafka module");
            KafkaContainer container = container();
            container.start();
            return new Cluster(container, container.getBootstrapServers(), "testcontainers");
        }

        /** A single-node Kafka container set up like the embedded broker (large records, transactions). */
        static KafkaContainer container() {
            return new KafkaContainer("apache/kafka:4.0.0")
                    .withEnv("KAFKA_MESSAGE_MAX_BYTES", Integer.toString(RecordLimits.DEFAULT_MAX_RECORD_BYTES
                            + RecordLimits.BATCH_OVERHEAD_BYTES))
                    .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                    .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
                    .withEnv("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
                    .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
        }

        @Override
        public String bootstrapServers() {
            return bootstrap;
        }

        @Override
        public String kind() {
            return kind;
        }

        @Override
        public void close() throws Exception {
            resource.close();
        }
    }
}
