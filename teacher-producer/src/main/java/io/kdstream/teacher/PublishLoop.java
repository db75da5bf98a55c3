package io.kdstream.teacher;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.KafkaOutage;
import io.kdstream.codec.FeatureBatch;

/**
 * The teacher's publisher thread (issue 25: Kafka off the forward thread). The worker's thread
 * polls work items and runs the teacher forward; this thread takes each computed item from a
 * bounded queue and publishes it in one transaction: encode, send, add the work offset, commit.
 * So the forward of the next item overlaps the encoding, the sends and the commit of this one.
 *
 * <p>Exactly-once needs one rule on top: a transaction of a later item must never commit the work
 * offset past an earlier item of the same partition that failed. After a failure this thread
 * therefore skips every queued item until the worker, having seen the outcome of every item it
 * handed over, seeks its partitions back and calls {@link #resume()}.
 */
final class PublishLoop implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PublishLoop.class);

    /** A work item whose batches are computed, with what its transaction commits on the work topic. */
    record Job(WorkItem item, TopicPartition workPartition, long offset, ConsumerGroupMetadata group,
               List<FeatureBatch> batches) {
        long samples() {
            return batches.stream().mapToLong(FeatureBatch::batchSize).sum();
        }
    }

    /** What became of a job. */
    sealed interface Outcome {
        Job job();
    }

    /** Its batches and work offset committed. */
    record Committed(Job job) implements Outcome {
    }

    /**
     * It did not commit, or its outcome is unknown.
     *
     * @param aborted true if its transaction is aborted (redo the item); false if the producer was
     *                replaced or the teacher stopped first (ask the group's committed offset)
     * @param outage  it failed because Kafka did not answer (back off before redoing it)
     */
    record Failed(Job job, boolean aborted, boolean outage) implements Outcome {
    }

    /** Not attempted: an earlier item failed, or the teacher is stopping. */
    record Skipped(Job job) implements Outcome {
    }

    /** The teacher cannot go on: an ACL, a configuration error, a twin, or Kafka gone for too long. */
    record Fatal(Job job, RuntimeException error) implements Outcome {
    }

    private static final Job POISON = new Job(null, null, -1, null, List.of());

    private final TransactionalPublisher publisher;
    private final String instanceId;
    private final TeacherMetrics metrics;
    private final KafkaOutage outage;
    private final BooleanSupplier stopping;
    private final BlockingQueue<Job> queue;
    private final BlockingQueue<Outcome> outcomes = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean skipping;
    private final AtomicLong pendingRecords = new AtomicLong();

    PublishLoop(TransactionalPublisher publisher, int capacity, String instanceId, TeacherMetrics metrics,
                KafkaOutage outage, BooleanSupplier stopping) {
        this.publisher = publisher;
        this.instanceId = instanceId;
        this.metrics = metrics;
        this.outage = outage;
        this.stopping = stopping;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = new Thread(this::loop, "kdstream-teacher-publisher");
        thread.setDaemon(true);
        thread.setUncaughtExceptionHandler((t, e) -> LOG.error("teacher {}: the publisher thread died", instanceId, e));
        thread.start();
    }

    /** Before the first item: registers the transactional id, fencing an earlier producer of this instance. */
    void initTransactions() {
        publisher.initTransactions();
    }

    /**
     * Hands a computed item over, waiting while the queue is full.
     *
     * @return false if the teacher is stopping before the item could be queued
     * @throws IllegalStateException if the publisher thread has died
     */
    boolean submit(Job job) throws InterruptedException {
        // counted before the publisher can take it, so the count never dips below what is in flight
        pendingRecords.addAndGet(job.item().records());
        while (!queue.offer(job, 100, TimeUnit.MILLISECONDS)) {
            if (stopping.getAsBoolean() || !thread.isAlive()) {
                pendingRecords.addAndGet(-job.item().records());
                if (stopping.getAsBoolean()) {
                    return false;
                }
                throw new IllegalStateException("teacher " + instanceId + ": the publisher thread has ended");
            }
        }
        return true;
    }

    /**
     * Records of the items handed over and not yet published or given up (batches and a marker
     * each): a measurement of the topic's end offsets may not show them yet.
     */
    long pendingRecords() {
        return pendingRecords.get();
    }

    /** The next outcome, waiting up to {@code timeout}; null if none came. */
    Outcome outcome(Duration timeout) throws InterruptedException {
        return outcomes.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** False once the thread ended (closed, or it died). */
    boolean isRunning() {
        return thread.isAlive();
    }

    /** The worker has seen every outcome and sought its partitions back: publish again. */
    void resume() {
        skipping = false;
    }

    private void loop() {
        try {
            while (true) {
                Job job = queue.take();
                if (job == POISON) {
                    return;
                }
                Outcome o = skipping || stopping.getAsBoolean() ? new Skipped(job) : publish(job);
                if (!(o instanceof Committed)) {
                    skipping = true;
                }
                pendingRecords.addAndGet(-job.item().records());
                outcomes.add(o);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One work item, one transaction: its batches and its work offset commit together or not at
     * all. A failure aborts the transaction, and the worker redoes the item.
     */
    private Outcome publish(Job job) {
        WorkItem item = job.item();
        metrics.itemStarted();
        try {
            publisher.begin();
            for (FeatureBatch batch : job.batches()) {
                if (stopping.getAsBoolean()) {
                    publisher.abortQuietly();
                    LOG.info("teacher {} stopping: aborted work item {}; another teacher will redo it", instanceId,
                            item.key());
                    return new Skipped(job);
                }
                publisher.send(batch);
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = Map.of(job.workPartition(),
                    new OffsetAndMetadata(job.offset() + 1));
            if (!publisher.commit(item, offsets, job.group())) {
                LOG.info("teacher {} stopping while the commit of work item {} was unresolved; the broker completes "
                        + "or aborts it, and the teachers' committed offset says which", instanceId, item.key());
                return new Failed(job, false, false);
            }
            outage.answered();
            metrics.committed(job.batches().size(), job.samples());
            LOG.debug("teacher {} committed work item {}", instanceId, item.key());
            return new Committed(job);
        } catch (AuthorizationException e) {
            // this principal lacks an ACL: no producer can do better
            return new Fatal(job, new IllegalStateException("teacher " + instanceId + " cannot continue: "
                    + e.getMessage(), e));
        } catch (RecordTooLargeException e) {
            publisher.abortQuietly();
            return new Fatal(job, e); // a configuration error: redoing the item cannot help
        } catch (KafkaException | IllegalStateException e) {
            return failed(job, e);
        } catch (RuntimeException e) {
            return new Fatal(job, e);
        } finally {
            metrics.itemEnded();
        }
    }

    private Outcome failed(Job job, RuntimeException e) {
        try {
            RuntimeException twin = publisher.twinOr(e);
            if (twin != e) {
                return new Fatal(job, twin); // another process has this teacher's identity
            }
            boolean unreachable = KafkaOutage.isOutage(e);
            if (unreachable) {
                // a broker down, restarting or halted on a full disk: nothing of the item is
                // committed, so it is redone once Kafka answers; say so once, not per call
                outage.failed("publishing work item " + job.item().key(), e);
            } else {
                LOG.warn("teacher {}: work item {} failed and will be retried: {}", instanceId, job.item().key(),
                        e.toString());
            }
            return new Failed(job, publisher.abort(job.item()), unreachable);
        } catch (RuntimeException fatal) {
            return new Fatal(job, fatal);
        }
    }

    /** The item's commit turned out to have landed after all. */
    void committedAfterAll(Job job) {
        publisher.committed();
        metrics.committed(job.batches().size(), job.samples());
    }

    /**
     * Stops the thread after the items already handed over (published, or skipped if the teacher
     * is stopping) and closes the producer. Items computed before the worker's thread failed are
     * whole, so publishing them is as good as publishing them later.
     */
    @Override
    public void close() {
        try {
            if (thread.isAlive()) {
                queue.put(POISON);
                thread.join(TransactionalPublisher.PATIENCE.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        publisher.close();
    }
}
