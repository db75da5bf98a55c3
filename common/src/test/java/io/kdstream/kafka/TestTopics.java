package io.kdstream.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Topic creation and reading for integration tests of every module. */
public final class TestTopics {

    public static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestTopics() {
    }

    /** Creates a topic sized for feature batches and waits until it is usable. */
    public static void create(KafkaClients clients, String topic, int partitions) {
        try (Admin admin = Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(new NewTopic(topic, partitions, (short) -1)
                    .configs(TopicAdmin.maxMessageBytes(clients.maxRecordBytes()))), TIMEOUT);
        }
    }

    /**
     * Reads a topic from the beginning (no group) until {@code expected} records arrived or the
     * deadline, then polls once more so that anything beyond {@code expected} shows up too.
     */
    public static List<ConsumerRecord<String, byte[]>> readFromStart(KafkaClients clients, String topic,
                                                                     String isolation, int expected) {
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = assignedFromStart(clients, topic, isolation)) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            c.poll(Duration.ofMillis(300)).forEach(out::add);
        }
        return out;
    }

    /** Every committed record of a topic, read up to its last stable offset. */
    public static List<ConsumerRecord<String, byte[]>> readToEnd(KafkaClients clients, String topic) {
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = assignedFromStart(clients, topic, "read_committed")) {
            Map<TopicPartition, Long> end = c.endOffsets(c.assignment(), TIMEOUT);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (end.entrySet().stream().anyMatch(e -> c.position(e.getKey()) < e.getValue())
                    && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static KafkaConsumer<String, byte[]> assignedFromStart(KafkaClients clients, String topic,
                                                                   String isolation) {
        Map<String, Object> cfg = clients.consumer(null, "test-reader");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg);
        List<TopicPartition> parts = c.partitionsFor(topic, TIMEOUT).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }
}
