package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.internals.AutoOffsetResetStrategy;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** A scan that cannot reach the topic's end in time fails with a type callers can wait out. */
class CompactedTopicScanTest {

    @Test
    void aScanThatDoesNotReachTheEndInTimeThrowsReadTimeoutException() {
        TopicPartition tp = new TopicPartition("r.manifest", 0);
        MockConsumer<String, byte[]> consumer = new MockConsumer<>(AutoOffsetResetStrategy.EARLIEST.name());
        consumer.updatePartitions("r.manifest", List.of(new PartitionInfo("r.manifest", 0, null, null, null)));
        consumer.updateBeginningOffsets(Map.of(tp, 0L));
        consumer.updateEndOffsets(Map.of(tp, 5L)); // five records the broker never delivers
        assertThatThrownBy(() -> CompactedTopicScan.scan(consumer, "r.manifest", System.nanoTime() - 1, r -> true))
                .isInstanceOf(ReadTimeoutException.class)
                .satisfies(e -> assertThat(((ReadTimeoutException) e).topic()).isEqualTo("r.manifest"));
    }
}
