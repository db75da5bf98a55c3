package io.kdstream.teacher;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaOutage;
import io.kdstream.kafka.ReadTimeoutException;
import io.kdstream.kafka.RunTopics;

/**
 * Writes a run's work items to {@code <run>.work} exactly once, however many teachers start
 * together. All planners of a run share one transactional id: {@code initTransactions} fences
 * any other planner and completes its transaction, after which the committed contents of the
 * work topic show whether the run is already planned. So two planners never both commit, and a
 * fenced planner retries rather than failing its teacher.
 */
public final class WorkPlanner {

    private static final Logger LOG = LoggerFactory.getLogger(WorkPlanner.class);

    private static final long INITIAL_BACKOFF_MS = 500;
    private static final long MAX_BACKOFF_MS = 8_000;

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
     * Plans the run unless it is planned already. Another teacher starting (or restarting) at the
     * same moment fences this planner; that is the protocol working, not a failure: this call then
     * waits for the other planner's commit, and plans again itself only if none appears (the
     * other one died mid-plan, and a new {@code initTransactions} aborts its open transaction).
     *
     * @return true if this call wrote the plan
     * @throws IllegalStateException if the run could not be planned, nor seen planned, within {@code timeout}
     */
    public static boolean planOnce(KafkaClients clients, RunSpec spec, int batchesPerItem, Duration timeout) {
        String topic = new RunTopics(spec.runId()).work();
        long deadline = System.nanoTime() + timeout.toNanos();
        long backoffMs = INITIAL_BACKOFF_MS;
        // the broker away: one line when it starts, reminders, one when Kafka answers (not one per attempt)
        KafkaOutage outage = new KafkaOutage(LOG, "planner of run " + spec.runId(), System::nanoTime);
        for (int attempt = 1; ; attempt++) {
            try {
                boolean planned = tryPlan(clients, spec, batchesPerItem, topic, timeout);
                outage.answered();
                return planned;
            } catch (AuthenticationException | AuthorizationException | UnsupportedVersionException e) {
                throw e; // credentials or configuration: retrying cannot help
            } catch (KafkaException e) {
                if (KafkaOutage.isOutage(e)) {
                    outage.failed("planning the run (attempt " + attempt + ")", e);
                } else { // fenced by another planner, or its transaction still in the way
                    LOG.info("planning run {} interrupted (attempt {}: {}); waiting for another planner's commit",
                            spec.runId(), attempt, e.toString());
                }
            }
            // jittered: planners fenced at the same moment must not retry in lock-step and fence each other again
            long waitMs = KafkaOutage.jitter(backoffMs, ThreadLocalRandom.current());
            long waitUntil = Math.min(deadline, System.nanoTime() + waitMs * 1_000_000L);
            while (System.nanoTime() < waitUntil) {
                if (plannedBy(clients, topic, timeout)) {
                    outage.answered();
                    LOG.info("run {} planned by another teacher", spec.runId());
                    return false;
                }
                sleepMs(200);
            }
            if (System.nanoTime() >= deadline) {
                throw new IllegalStateException("could not plan run " + spec.runId() + " within " + timeout
                        + " (" + attempt + " attempts); is the broker reachable?");
            }
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        }
    }

    private static boolean tryPlan(KafkaClients clients, RunSpec spec, int batchesPerItem, String topic,
                                   Duration timeout) {
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
            producer.commitTransaction(); // throws if fenced meanwhile: then nothing of this attempt is visible
            LOG.info("planned run {}: {} work items of up to {} batches on {}", spec.runId(), items.size(),
                    batchesPerItem, topic);
            return true;
        }
    }

    /** Whether the plan is committed; a read that fails counts as "not yet". */
    private static boolean plannedBy(KafkaClients clients, String topic, Duration timeout) {
        try {
            return anyCommittedRecord(clients, topic, Map.of(), timeout, () -> false);
        } catch (KafkaException | IllegalStateException e) {
            return false;
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while planning", e);
        }
    }

    /**
     * Run completion: whether any committed work item lies at or after the offsets that the
     * teachers' group (of which {@code member} is a member) committed on {@code <run>.work}, that
     * is, whether some teacher still has to do an item. Unknown counts as work left.
     */
    static boolean workLeft(KafkaClients clients, Consumer<?, ?> member, String workTopic, BooleanSupplier cancelled) {
        List<TopicPartition> parts = member.partitionsFor(workTopic).stream()
                .map(p -> new TopicPartition(workTopic, p.partition())).toList();
        Map<TopicPartition, Long> from = new HashMap<>();
        member.committed(Set.copyOf(parts)).forEach((tp, om) -> {
            if (om != null) {
                from.put(tp, om.offset());
            }
        });
        return anyCommittedRecord(clients, workTopic, from, clients.timeout(), cancelled);
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
                    throw new ReadTimeoutException(topic);
                }
                if (!c.poll(Duration.ofMillis(200)).isEmpty()) {
                    return true;
                }
            }
            return false;
        }
    }
}
