package io.kdstream.teacher;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A teacher's meters (DESIGN.md §7), all named {@code kdstream_teacher_*}, in one place: what the worker, its publisher and the feature
 * pipeline count, and what the teacher's progress lines read back. The counts live here, so the
 * progress lines read them without looking meters up by name; {@link #bindTo} exposes them.
 *
 * <p>Bind one instance to one registry, before the teacher starts: the timers record into the
 * registry they were bound to (until then into a private one). Every counter, each outcome of
 * the transactions included, exists at zero from {@link #bindTo} on, so that an
 * {@code increase()} alert sees its first event.
 */
public final class TeacherMetrics implements MeterBinder {

    private final LongAdder batches = new LongAdder();
    private final LongAdder samples = new LongAdder();
    private final LongAdder sentBytes = new LongAdder();
    private final LongAdder commits = new LongAdder();
    private final LongAdder aborts = new LongAdder();
    private final LongAdder replacements = new LongAdder();
    private final DoubleAdder pausedSeconds = new DoubleAdder();
    private final AtomicInteger itemsInProgress = new AtomicInteger();
    private volatile Timer forward;
    private volatile Timer encode;

    public TeacherMetrics() {
        bindTimers(new SimpleMeterRegistry());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder("kdstream.teacher.batches", batches, LongAdder::doubleValue)
                .description("Feature batches committed").register(registry);
        FunctionCounter.builder("kdstream.teacher.samples", samples, LongAdder::doubleValue)
                .description("Samples in committed batches").register(registry);
        FunctionCounter.builder("kdstream.teacher.sent", sentBytes, LongAdder::doubleValue).baseUnit("bytes")
                .description("Encoded feature batch bytes sent (committed or not)").register(registry);
        FunctionCounter.builder("kdstream.teacher.transactions", commits, LongAdder::doubleValue)
                .tag("outcome", "commit").description("Work-item transactions").register(registry);
        FunctionCounter.builder("kdstream.teacher.transactions", aborts, LongAdder::doubleValue)
                .tag("outcome", "abort").description("Work-item transactions").register(registry);
        FunctionCounter.builder("kdstream.teacher.paused", pausedSeconds, DoubleAdder::doubleValue).baseUnit("seconds")
                .description("Time spent waiting because the lead over the slowest student exceeded the bound")
                .register(registry);
        FunctionCounter.builder("kdstream.teacher.producer.replacements", replacements, LongAdder::doubleValue)
                .description("Producers replaced because they refused to abort (Kafka's fatal error state)")
                .register(registry);
        Gauge.builder("kdstream.teacher.work.items.in.progress", itemsInProgress, AtomicInteger::get)
                .description("Work items taken and not yet committed or aborted (forward, queued or publishing)")
                .register(registry);
        bindTimers(registry);
    }

    private void bindTimers(MeterRegistry registry) {
        forward = Timer.builder("kdstream.teacher.forward")
                .description("Teacher forward, pooling and normalization of one batch")
                .publishPercentileHistogram().register(registry);
        encode = Timer.builder("kdstream.teacher.encode").description("Safetensors encoding of one batch")
                .publishPercentileHistogram().register(registry);
    }

    /** A work item's transaction committed with these batches and samples. */
    void committed(int batchCount, long sampleCount) {
        commits.increment();
        batches.add(batchCount);
        samples.add(sampleCount);
    }

    void aborted() {
        aborts.increment();
    }

    void sent(int bytes) {
        sentBytes.add(bytes);
    }

    void producerReplaced() {
        replacements.increment();
    }

    /** Counted while paused, so that a long pause shows up live. */
    void paused(double seconds) {
        pausedSeconds.add(seconds);
    }

    void itemStarted() {
        itemsInProgress.incrementAndGet();
    }

    void itemEnded() {
        itemsInProgress.decrementAndGet();
    }

    Timer forward() {
        return forward;
    }

    Timer encode() {
        return encode;
    }

    /** Feature batches committed so far. */
    public long batches() {
        return batches.sum();
    }

    /** Samples in the committed batches. */
    public long samples() {
        return samples.sum();
    }

    /** Seconds spent in the teacher forward (pooling and normalization included). */
    public double forwardSeconds() {
        return forward.totalTime(TimeUnit.MILLISECONDS) / 1000.0;
    }

    /** Seconds spent paused for flow control. */
    public double pausedSeconds() {
        return pausedSeconds.sum();
    }
}
