package io.kdstream.teacher;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
            long existing = committedRecords(clients, topic, timeout);
            if (existing > 0) {
                LOG.info("run {} already planned ({} work items on {})", spec.runId(), existing, topic);
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

    /** Number of committed records on a topic (aborted records and markers not counted). */
    static long committedRecords(KafkaClients clients, String topic, Duration timeout) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "planner-check"))) {
            List<TopicPartition> parts = c.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, timeout); // the last stable offset under read_committed
            long count = 0;
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading " + topic);
                }
                count += c.poll(Duration.ofMillis(200)).count();
                if (count > 0) {
                    return count; // planned: one committed item is proof enough
                }
            }
            return count;
        }
    }
}
