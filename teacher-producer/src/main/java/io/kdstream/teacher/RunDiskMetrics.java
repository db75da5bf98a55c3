package io.kdstream.teacher;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.BrokerDiskUsage;
import io.kdstream.kafka.KafkaAccessErrors;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The bytes a run's topics hold on the brokers (all replicas, {@code Admin.describeLogDirs}),
 * refreshed on a timer: {@code kdstream_teacher_run_broker_bytes{topic}}, and the run's disk budget
 * {@code kdstream_teacher_run_broker_budget_bytes} (0 = none) that the alert
 * {@code KdstreamRunNearDiskBudget} compares them with. The byte gauges appear at the first
 * successful read; without the cluster Describe ACL they never do, and the teacher says so once;
 * it keeps working.
 */
public final class RunDiskMetrics implements MeterBinder, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RunDiskMetrics.class);

    /** How often the brokers are asked. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);

    private final Admin admin;
    private final RunTopics topics;
    private final long budgetBytes;
    private final Duration interval;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kdstream-run-disk");
        t.setDaemon(true);
        return t;
    });
    private volatile Map<String, Long> bytes = Map.of();
    private MeterRegistry registry;
    private boolean shown;

    /**
     * @param admin       used from the timer thread; the caller closes it after this
     * @param budgetBytes the run's disk budget across all replicas, 0 for none
     */
    public RunDiskMetrics(Admin admin, String runId, long budgetBytes, Duration interval) {
        if (budgetBytes < 0) {
            throw new IllegalArgumentException("disk budget must be >= 0 bytes, got " + budgetBytes);
        }
        this.admin = admin;
        this.topics = new RunTopics(runId);
        this.budgetBytes = budgetBytes;
        this.interval = interval;
    }

    /** Binds the gauges to {@code registry} and starts the timer; close it when the teacher ends. */
    public static RunDiskMetrics start(Admin admin, String runId, long budgetBytes, MeterRegistry registry) {
        RunDiskMetrics m = new RunDiskMetrics(admin, runId, budgetBytes, DEFAULT_INTERVAL);
        m.bindTo(registry);
        return m;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("kdstream.teacher.run.broker.budget", () -> budgetBytes).baseUnit("bytes")
                .description("Disk budget of the run on the brokers (--broker-bytes-budget; 0 = none)")
                .register(registry);
        timer.scheduleWithFixedDelay(this::refresh, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The per-topic gauges, registered at the first successful read: no value before there is one. */
    private void showBytes() {
        for (String topic : topics.all()) {
            Gauge.builder("kdstream.teacher.run.broker", this, m -> m.bytes.getOrDefault(topic, 0L))
                    .tag("topic", topic).baseUnit("bytes")
                    .description("Bytes the run's topic holds on the brokers, all replicas (describeLogDirs)")
                    .register(registry);
        }
    }

    /** The last sizes read, per topic. */
    Map<String, Long> bytes() {
        return bytes;
    }

    private void refresh() {
        try {
            bytes = Map.copyOf(BrokerDiskUsage.bytesByTopic(admin, topics.all(), interval));
            if (!shown) {
                shown = true;
                showBytes();
            }
        } catch (RuntimeException e) {
            if (KafkaAccessErrors.describe(e).isPresent()) {
                LOG.warn("cannot read the disk usage of run {} (needs the Describe ACL on the cluster); "
                        + "kdstream_teacher_run_broker_bytes is not exported: {}", topics.runId(), e.getMessage());
                timer.shutdown();
            } else {
                LOG.debug("reading the disk usage of run {} failed; retrying in {}", topics.runId(), interval, e);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
