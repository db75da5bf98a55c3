package io.kdstream.teacher;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunTopics;

/**
 * Writes a run's work items to {@code <run>.work} exactly once, however many teachers start
 * together. All planners of a run share one transactional id: {@code initTransactions} fences
 * any other planner and completes its transaction, after which the committed contents of the
 * work topic show whether the run is already planned. So two planners never both commit.
 */
public final class WorkPlanner {

    private static final Logger LOG = LoggerFactory.getLogger(WorkPlanner.class);

    private WorkPlanner() {
    }

    /** The items of a run: every epoch's batches in chunks of {@code batchesPerItem}. */
    public static List<WorkItem> items(RunSpec spec, int batchesPerItem) {
        if (batchesPerItem <= 0) {
            throw new IllegalArgumentException("batches per work item must be > 0, got " + batchesPerItem);
        }
        List<WorkItem> items = new ArrayList<>();
        for (int e = 0; e < spec.epochs(); e++) {
            for (int b = 0; b < spec.batchesPerEpoch(); b += batchesPerItem) {
                items.add(new WorkItem(spec.runId(), e, b, Math.min(batchesPerItem, spec.batchesPerEpoch() - b)));
            }
        }
        return items;
    }

    /**
     * Plans the run unless it is planned already.
     *
     * @return true if this call wrote the plan
     */
    public static boolean planOnce(KafkaClients clients, RunSpec spec, int batchesPerItem, Duration timeout) {
        String topic = new RunTopics(spec.runId()).work();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
                clients.transactionalProducer("kdstream-" + spec.runId() + "-planner"))) {
            producer.initTransactions();
            if (anyCommittedRecord(clients, topic, Map.of(), timeout, () -> false)) {
                LOG.info("run {} already planned (work items on {})", spec.runId(), topic);
                return false;
            }
            List<WorkItem> items = items(spec, batchesPerItem);
            int partitions = producer.partitionsFor(topic).size();
            producer.beginTransaction();
            for (int i = 0; i < items.size(); i++) {
                WorkItem item = items.get(i);
                // round-robin over partitions so that teachers in the group share the load
                producer.send(new ProducerRecord<>(topic, i % partitions, item.key(), item.toJson()));
            }
            producer.commitTransaction();
            LOG.info("planned run {}: {} work items of up to {} batches on {}", spec.runId(), items.size(),
                    batchesPerItem, topic);
            return true;
        }
    }

    /**
     * Whether a committed record lies at or after the given offsets (per partition; a partition
     * not named is read from its beginning). Offsets alone cannot tell: aborted records and
     * transaction markers occupy offsets too, so the partitions are read up to their last stable
     * offset. Answers true if {@code cancelled} turns true meanwhile (unknown counts as "there is
     * work").
     *
     * @throws IllegalStateException if the topic cannot be read within {@code timeout}
     */
    static boolean anyCommittedRecord(KafkaClients clients, String topic, Map<TopicPartition, Long> from,
                                      Duration timeout, BooleanSupplier cancelled) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "work-reader"))) {
            List<TopicPartition> parts = c.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(parts);
            for (TopicPartition tp : parts) {
                c.seek(tp, from.getOrDefault(tp, 0L));
            }
            Map<TopicPartition, Long> end = c.endOffsets(parts, timeout); // last stable offsets (read_committed)
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (cancelled.getAsBoolean()) {
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading " + topic);
                }
                if (!c.poll(Duration.ofMillis(200)).isEmpty()) {
                    return true;
                }
            }
            return false;
        }
    }
}
