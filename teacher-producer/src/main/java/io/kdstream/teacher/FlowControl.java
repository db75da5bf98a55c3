package io.kdstream.teacher;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.KafkaAccessErrors;

/**
 * Flow control (DESIGN.md §6): before each work item the teacher waits while its lead over the
 * slowest student group ({@link LeadMonitor}) exceeds a bound, instead of filling the broker's
 * disk. It keeps polling its work consumer with the partitions paused meanwhile, so that the
 * group does not consider it dead.
 */
final class FlowControl {

    private static final Logger LOG = LoggerFactory.getLogger(FlowControl.class);
    private static final Duration POLL = Duration.ofMillis(500);

    private final LeadMonitor monitor;
    private final long maxLeadRecords;
    private final String instanceId;
    private final TeacherMetrics metrics;
    private final KafkaOutage outage;

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
    boolean awaitLeadWithinBound(Consumer<?, ?> work, BooleanSupplier stopping) {
        boolean wasPaused = false;
        long last = System.nanoTime();
        try {
            while (!stopping.getAsBoolean()) {
                OptionalLong lead = monitor.lead();
                if (lead.isEmpty() || lead.getAsLong() <= maxLeadRecords) {
                    break;
                }
                if (!wasPaused) {
                    LOG.info("teacher {} pausing: lead {} records > bound {}", instanceId, lead.getAsLong(),
                            maxLeadRecords);
                    wasPaused = true;
                }
                work.pause(work.assignment());
                work.poll(POLL);
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
}
