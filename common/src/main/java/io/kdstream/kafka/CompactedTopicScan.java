package io.kdstream.kafka;

import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a run's one-partition, compacted topic (its manifest, its whitening) from the beginning
 * to the end it has when the scan starts. Readers never create the topic (see
 * {@link KafkaClients#consumer}), so a missing topic is an answer, not an error.
 */
public final class CompactedTopicScan {

    private CompactedTopicScan() {
    }

    /**
     * Hands each record to {@code visit} in offset order until the end or until {@code visit}
     * returns false.
     *
     * @return false if the topic does not exist
     * @throws ReadTimeoutException if the end is not reached by {@code deadline} ({@link System#nanoTime})
     */
    public static boolean scan(Consumer<String, byte[]> consumer, String topic, long deadline,
                        Predicate<ConsumerRecord<String, byte[]>> visit) {
        TopicPartition tp = new TopicPartition(topic, 0);
        Duration timeout = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
        if (consumer.partitionsFor(topic, timeout).isEmpty()) {
            return false;
        }
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
        while (consumer.position(tp, timeout) < end) {
            if (System.nanoTime() > deadline) {
                throw new ReadTimeoutException(topic);
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (!visit.test(r)) {
                    return true;
                }
            }
        }
        return true;
    }
}
