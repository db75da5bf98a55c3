package io.kdstream.student;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The student's meters (DESIGN.md §7): step phases, steps and samples, skipped steps, losses,
 * projection orthogonality, throughput, evaluation, checkpoint age, progress and consumer lag. One
 * instance per training run, bound before its first step; the trainer reports through the small
 * methods below. Gauges hold their objects strongly, so the last values stay scrapable after
 * training ends.
 */
final class StudentMetrics implements MeterBinder {

    private static final List<String> LOSS_COMPONENTS = List.of("total", "ce", "feature", "kd");

    private final TrainingState state;
    private final DoubleSupplier orthogonalityError;
    private final Map<String, AtomicLong> losses = new LinkedHashMap<>();
    private final AtomicLong accuracy = nan();
    private final AtomicLong evalLoss = nan();
    private final AtomicLong lastCheckpointNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong orthoError = nan();
    private volatile BatchFeed stream;
    private Timer waitTimer;
    private Timer forwardTimer;
    private Timer backwardTimer;
    private Counter steps;
    private Counter samples;
    private Counter nonFinite;
    private Counter duplicates;
    private double throughput;
    private long lastStepNanos;

    /**
     * @param state              the run's state, for progress and (with the feed) lag
     * @param orthogonalityError ‖PᵀP − I‖ of the student's projection, sampled every 10 steps
     */
    StudentMetrics(TrainingState state, DoubleSupplier orthogonalityError) {
        this.state = state;
        this.orthogonalityError = orthogonalityError;
        LOSS_COMPONENTS.forEach(c -> losses.put(c, nan()));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        waitTimer = stepTimer(registry, "wait");
        forwardTimer = stepTimer(registry, "forward");
        backwardTimer = stepTimer(registry, "backward");
        steps = Counter.builder("kdstream.student.steps").description("Optimizer steps").register(registry);
        samples = Counter.builder("kdstream.student.samples").description("Samples trained").register(registry);
        nonFinite = Counter.builder("kdstream.student.nonfinite.steps")
                .description("Steps skipped because the loss was not finite").register(registry);
        duplicates = Counter.builder("kdstream.student.duplicate.batches")
                .description("Batches skipped because this pass already trained them").register(registry);
        losses.forEach((c, g) -> Gauge.builder("kdstream.student.loss", g, StudentMetrics::value).tag("component", c)
                .description("Loss of the last step, by component").strongReference(true).register(registry));
        Gauge.builder("kdstream.student.orthogonality.error", orthoError, StudentMetrics::value)
                .description("Frobenius norm of P^T P - I of the projection").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.student.samples.per.second", this, x -> x.throughput)
                .description("Training throughput (exponential moving average)").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.eval.accuracy", accuracy, StudentMetrics::value)
                .description("Test-split accuracy at the last evaluation").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.eval.loss", evalLoss, StudentMetrics::value)
                .description("Test-split cross-entropy at the last evaluation").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.checkpoint.age", lastCheckpointNanos,
                a -> (System.nanoTime() - a.get()) / 1e9).baseUnit("seconds")
                .description("Time since the last checkpoint").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.student.progress", state, s -> (double) s.trained().count() / s.trained().total())
                .description("Fraction of all batches (all passes) trained").strongReference(true)
                .register(registry);
        Gauge.builder("kdstream.consumer.lag", this, StudentMetrics::lag).baseUnit("records")
                .description("Records on the features topic not yet trained (all partitions)").strongReference(true)
                .register(registry);
    }

    /** The feed whose end offsets, against the state's next offsets, give the lag. */
    void watch(BatchFeed feed) {
        this.stream = feed;
    }

    /** Time the trainer waited for the feed's next item. */
    void waited(long nanos) {
        waitTimer.record(nanos, TimeUnit.NANOSECONDS);
    }

    void duplicate() {
        duplicates.increment();
    }

    /** A step's forward and backward times, applied or not. */
    void timed(StudentModel.StepResult r) {
        forwardTimer.record(r.forwardNanos(), TimeUnit.NANOSECONDS);
        backwardTimer.record(r.backwardNanos(), TimeUnit.NANOSECONDS);
    }

    /** A step skipped because its loss was not finite. */
    void nonFinite() {
        nonFinite.increment();
    }

    /** An applied step on a batch of {@code batchSize}. */
    void stepped(StudentModel.StepResult r, int batchSize) {
        steps.increment();
        samples.increment(batchSize);
        set(losses.get("total"), r.total());
        set(losses.get("ce"), r.ce());
        set(losses.get("feature"), r.feature());
        set(losses.get("kd"), r.kd());
        long now = System.nanoTime();
        if (lastStepNanos != 0) {
            double sps = batchSize / ((now - lastStepNanos) / 1e9);
            throughput = throughput == 0 ? sps : 0.9 * throughput + 0.1 * sps;
        }
        lastStepNanos = now;
        if (steps.count() % 10 == 1) {
            set(orthoError, orthogonalityError.getAsDouble());
        }
    }

    /** Training throughput, exponential moving average. */
    double samplesPerSecond() {
        return throughput;
    }

    void evaluated(StudentModel.EvalResult e) {
        set(accuracy, e.accuracy());
        set(evalLoss, e.loss());
    }

    void checkpointed() {
        lastCheckpointNanos.set(System.nanoTime());
    }

    private double lag() {
        BatchFeed s = stream;
        if (s == null) {
            return Double.NaN;
        }
        Map<Integer, Long> next = state.next();
        long lag = 0;
        for (Map.Entry<Integer, Long> e : s.endOffsets().entrySet()) {
            lag += Math.max(0, e.getValue() - next.getOrDefault(e.getKey(), 0L));
        }
        return lag;
    }

    private Timer stepTimer(MeterRegistry registry, String phase) {
        return Timer.builder("kdstream.student.step").tag("phase", phase)
                .description("Student step time by phase").publishPercentileHistogram().register(registry);
    }

    private static AtomicLong nan() {
        return new AtomicLong(Double.doubleToLongBits(Double.NaN));
    }

    private static void set(AtomicLong gauge, double value) {
        gauge.set(Double.doubleToLongBits(value));
    }

    private static double value(AtomicLong gauge) {
        return Double.longBitsToDouble(gauge.get());
    }
}
