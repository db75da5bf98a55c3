package io.kdstream.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.RecordLimits;

/** Creates topics idempotently and waits until they are usable. */
public final class TopicAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

    private TopicAdmin() {
    }

    /**
     * Creates the topics that do not exist yet and returns once every partition of every topic
     * answers {@code listOffsets}. The wait matters: an idempotent producer that sends right after
     * {@code createTopics} can silently lose its first batches (KAFKA-15591).
     *
     * @throws IllegalStateException if the topics are not ready within {@code timeout}
     */
    public static void ensureTopics(Admin admin, Collection<NewTopic> topics, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        // one request for all of them: the controller creates them together, and a teacher's start
        // no longer waits for one round of topic creation per topic
        Map<String, KafkaFuture<Void>> created = admin.createTopics(topics).values();
        for (NewTopic t : topics) {
            try {
                created.get(t.name()).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                LOG.info("created topic {} ({} partitions)", t.name(), t.numPartitions());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create topic " + t.name() + ": " + e.getCause().getMessage(),
                            e.getCause());
                }
            } catch (TimeoutException e) {
                throw new IllegalStateException("timed out creating topic " + t.name()
                        + " (is the broker reachable?)", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating topic " + t.name(), e);
            }
        }
        awaitReady(admin, topics.stream().map(NewTopic::name).toList(), deadline);
    }

    /** Partition counts of existing topics. */
    public static Map<String, Integer> partitionCounts(Admin admin, Collection<String> topics, Duration timeout) {
        try {
            Map<String, TopicDescription> d = admin.describeTopics(topics).allTopicNames()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Map<String, Integer> out = new HashMap<>();
            d.forEach((name, desc) -> out.put(name, desc.partitions().size()));
            return out;
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot describe topics " + topics + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void awaitReady(Admin admin, List<String> names, long deadline) {
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                Map<String, Integer> counts = partitionCounts(admin, names, Duration.ofMillis(remainingMs(deadline)));
                Map<TopicPartition, OffsetSpec> request = new HashMap<>();
                counts.forEach((name, n) -> {
                    for (int p = 0; p < n; p++) {
                        request.put(new TopicPartition(name, p), OffsetSpec.latest());
                    }
                });
                admin.listOffsets(request).all().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                return;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                last = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for topics " + names, e);
            }
            pause();
        }
        throw new IllegalStateException("topics " + names + " not ready in time"
                + (last != null ? ": " + last.getMessage() : ""), last);
    }

    private static void pause() {
        try {
            Thread.sleep(100); // retry backoff between readiness probes, bounded by the deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long remainingMs(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /** Topic config that keeps only the latest value per key, for manifests. */
    public static Map<String, String> compacted() {
        return Map.of("cleanup.policy", "compact");
    }

    /** Topic config allowing records up to {@code maxRecordBytes}. */
    public static Map<String, String> maxMessageBytes(int maxRecordBytes) {
        return Map.of("max.message.bytes", Integer.toString(maxRecordBytes + RecordLimits.BATCH_OVERHEAD_BYTES));
    }

}
