package io.kdstream.teacher;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.KafkaOutage;
import io.kdstream.kafka.KafkaAccessErrors;

/**
 * Flow control (DESIGN.md §6): before each work item the teacher waits while its lead over the
 * slowest student group ({@link LeadMonitor}) exceeds a bound, instead of filling the broker's
 * disk. It keeps polling its work consumer with the partitions paused meanwhile, so that the
 * group does not consider it dead.
 *
 * <p>Measuring the lead takes several admin round trips, so it is measured at most once per
 * {@link #REFRESH} (and at every check while paused); in between, the records this teacher handed
 * to its publisher since the last measurement are added to it. That estimate errs high (an item
 * that fails is counted until the next measurement), never low for this teacher's own records;
 * other teachers' records show up at the next measurement.
 */
final class FlowControl {

    private static final Logger LOG = LoggerFactory.getLogger(FlowControl.class);
    private static final Duration POLL = Duration.ofMillis(500);
    static final Duration REFRESH = Duration.ofSeconds(1);

    private final LeadMonitor monitor;
    private final long maxLeadRecords;
    private final String instanceId;
    private final TeacherMetrics metrics;
    private final KafkaOutage outage;
    private OptionalLong measured = OptionalLong.empty();
    private long measuredAt;
    private boolean everMeasured;
    private long handedOverSince; // records handed to the publisher since the last measurement

    FlowControl(LeadMonitor monitor, long maxLeadRecords, String instanceId, TeacherMetrics metrics,
                KafkaOutage outage) {
        this.monitor = monitor;
        this.maxLeadRecords = maxLeadRecords;
        this.instanceId = instanceId;
        this.metrics = metrics;
        this.outage = outage;
    }

    /**
     * Returns once the lead is within the bound (or cannot be measured: then the teacher goes on
     * without flow control rather than stall).
     *
     * @return false when asked to stop meanwhile
     * @throws IllegalStateException if an ACL keeps the lead from being measured: waiting cannot fix
     *         that, and going on would publish without flow control
     */
    boolean awaitLeadWithinBound(Consumer<?, ?> work, BooleanSupplier stopping, LongSupplier inFlightRecords) {
        boolean wasPaused = false;
        long last = System.nanoTime();
        try {
            while (!stopping.getAsBoolean()) {
                // an estimate over the bound is measured again before the teacher pauses for it
                OptionalLong lead = lead(wasPaused, inFlightRecords);
                if (!wasPaused && over(lead)) {
                    lead = lead(true, inFlightRecords);
                }
                if (!over(lead)) {
                    break;
                }
                if (!wasPaused) {
                    LOG.info("teacher {} pausing: lead {} records > bound {}", instanceId, lead.getAsLong(),
                            maxLeadRecords);
                    wasPaused = true;
                }
                work.pause(work.assignment());
                ConsumerRecords<?, ?> got = work.poll(POLL);
                // a rebalance inside this poll can assign partitions that are not paused: give
                // their records back, or the teacher would go on past items it never did
                for (TopicPartition tp : got.partitions()) {
                    work.seek(tp, got.records(tp).get(0).offset());
                }
                long now = System.nanoTime();
                metrics.paused((now - last) / 1e9);
                last = now;
            }
        } catch (WakeupException e) {
            throw e;
        } catch (Exception e) {
            if (KafkaAccessErrors.describe(e).isPresent()) {
                // e.g. no Describe ACL on a --student-groups group
                throw new IllegalStateException("teacher " + instanceId + " cannot measure its lead over the "
                        + "student groups", e);
            }
            if (KafkaOutage.isOutage(e)) {
                outage.failed("measuring the lead over the student groups (not pausing meanwhile)", e);
            } else {
                LOG.warn("cannot measure the lead over students, not pausing: {}", e.toString());
            }
        } finally {
            work.resume(work.paused());
        }
        return !stopping.getAsBoolean();
    }

    private boolean over(OptionalLong lead) {
        return lead.isPresent() && lead.getAsLong() > maxLeadRecords;
    }

    /** The teacher just handed this work item to its publisher. */
    void handedOver(WorkItem item) {
        handedOverSince += item.records();
    }

    /**
     * The lead, measured again when the last measurement is older than {@link #REFRESH} or
     * {@code now} is set; records still in flight count as published, since the measurement may
     * not include them yet.
     */
    private OptionalLong lead(boolean now, LongSupplier inFlightRecords) throws Exception {
        long t = System.nanoTime();
        if (now || !everMeasured || t - measuredAt >= REFRESH.toNanos()) {
            measuredAt = t;
            everMeasured = true;
            handedOverSince = inFlightRecords.getAsLong();
            measured = monitor.lead();
        }
        return measured.isEmpty() ? measured : OptionalLong.of(measured.getAsLong() + handedOverSince);
    }
}
