package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.vkd.Normalization;

/**
 * The work consumer's own settings must not contradict each other: Kafka logs a warning a user
 * cannot act on (and may drop the coordinator's connection during a rebalance) when an idle
 * connection can be closed within one poll interval.
 */
class TeacherConsumerConfigTest {

    @Test
    void anIdleConnectionOutlivesAPollInterval() {
        RunSpec spec = RunSpec.builder().setRunId("cfg").setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher("teacher-hash", "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                .optInputMode(InputMode.REFERENCE)
                .setStream(4, 2, 1, 1L).build();
        TeacherWorker worker = TeacherWorker.builder().setClients(KafkaClients.of("127.0.0.1:9"))
                .setRunSpec(spec).setSource(new SyntheticSource(spec, "t")).optInstanceId("t").build();

        ConsumerConfig cfg = new ConsumerConfig(worker.consumerConfig());

        assertThat(cfg.getLong(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG))
                .isGreaterThan(cfg.getInt(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG).longValue());
    }
}
