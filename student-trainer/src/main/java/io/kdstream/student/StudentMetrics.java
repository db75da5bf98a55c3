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
 * The student's meters (DESIGN.md §7), all named {@code kdstream_student_*}: step phases, steps
 * and samples, skipped steps, rollbacks, dead letters, losses, projection orthogonality,
 * evaluation, checkpoint age, progress and consumer lag. One instance per training run, bound
 * before its first step; the trainer reports through the small methods below.
 *
 * <p>Counters exist from {@link #bindTo} on, at zero, so that a {@code rate()} or
 * {@code increase()} alert sees their first event. A gauge appears only once its value means
 * something: the losses and the orthogonality error at the first step (the error never for a
 * projection that has none), evaluation at the first evaluation, checkpoint age at the first
 * checkpoint this process writes, lag once the feed is open. Gauges hold their objects strongly,
 * so the last values stay scrapable after training ends. Throughput is left to Prometheus
 * ({@code rate(kdstream_student_samples_total[1m])}); {@link #samplesPerSecond()} is only for the
 * progress lines.
 */
final class StudentMetrics implements MeterBinder {

    private static final List<String> LOSS_COMPONENTS = List.of("total", "ce", "feature", "kd");

    private final TrainingState state;
    private final DoubleSupplier orthogonalityError;
    private final Map<String, AtomicLong> losses = new LinkedHashMap<>();
    private final AtomicLong accuracy = nan();
    private final AtomicLong evalLoss = nan();
    private final AtomicLong lastCheckpointNanos = new AtomicLong();
    private final AtomicLong orthoError = nan();
    private volatile BatchFeed stream;
    private MeterRegistry registry;
    private Timer waitTimer;
    private Timer forwardTimer;
    private Timer backwardTimer;
    private Counter steps;
    private Counter samples;
    private Counter nonFinite;
    private Counter duplicates;
    private Counter rollbacks;
    private boolean lossesShown;
    private boolean orthoShown;
    private boolean evalShown;
    private boolean checkpointShown;
    private boolean lagShown;
    private double throughput;
    private long lastStepNanos;

    /**
     * @param state              the run's state, for progress and (with the feed) lag
     * @param orthogonalityError ‖PᵀP − I‖ of the student's projection, sampled every 10 steps; NaN
     *                           for a projection without the constraint
     */
    StudentMetrics(TrainingState state, DoubleSupplier orthogonalityError) {
        this.state = state;
        this.orthogonalityError = orthogonalityError;
        LOSS_COMPONENTS.forEach(c -> losses.put(c, nan()));
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        waitTimer = stepTimer(registry, "wait");
        forwardTimer = stepTimer(registry, "forward");
        backwardTimer = stepTimer(registry, "backward");
        steps = Counter.builder("kdstream.student.steps").description("Optimizer steps applied").register(registry);
        samples = Counter.builder("kdstream.student.samples")
                .description("Samples in the applied steps; rate() of it is the training throughput")
                .register(registry);
        nonFinite = Counter.builder("kdstream.student.nonfinite.steps")
                .description("Steps skipped because the loss was not finite").register(registry);
        duplicates = Counter.builder("kdstream.student.duplicate.batches")
                .description("Batches skipped because this pass already trained them").register(registry);
        rollbacks = Counter.builder("kdstream.student.rollbacks")
                .description("Restores of the last checkpoint after --max-nonfinite non-finite losses in a row")
                .register(registry);
        Gauge.builder("kdstream.student.progress", state, s -> (double) s.trained().count() / s.trained().total())
                .baseUnit("ratio").description("Fraction of all batches (all passes) trained")
                .strongReference(true).register(registry);
    }

    /**
     * The feed whose end offsets, against the state's next offsets, give the lag; a joined feed's
     * lag is one gauge per run, tagged {@code joined_run} (sum them for the student's).
     */
    void watch(BatchFeed feed) {
        this.stream = feed;
        if (!lagShown) {
            lagShown = true;
            if (feed instanceof JoinedFeed joined) {
                for (int i = 0; i < joined.runs().size(); i++) {
                    int run = i;
                    Gauge.builder("kdstream.student.consumer.lag", this, m -> m.lag(run)).baseUnit("records")
                            .tag("joined_run", joined.runs().get(i))
                            .description("Records on the run's features topic not yet trained (all partitions)")
                            .strongReference(true).register(registry);
                }
            } else {
                Gauge.builder("kdstream.student.consumer.lag", this, m -> m.lag(-1)).baseUnit("records")
                        .description("Records on the features topic not yet trained (all partitions)")
                        .strongReference(true).register(registry);
            }
        }
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

    /** The model went back to the last checkpoint (too many non-finite losses in a row). */
    void rolledBack() {
        rollbacks.increment();
    }

    /** An applied step on a batch of {@code batchSize}. */
    void stepped(StudentModel.StepResult r, int batchSize) {
        steps.increment();
        samples.increment(batchSize);
        set(losses.get("total"), r.total());
        set(losses.get("ce"), r.ce());
        set(losses.get("feature"), r.feature());
        set(losses.get("kd"), r.kd());
        if (!lossesShown) {
            lossesShown = true;
            losses.forEach((c, g) -> Gauge.builder("kdstream.student.loss", g, StudentMetrics::value)
                    .tag("component", c).description("Loss of the last applied step, by component")
                    .strongReference(true).register(registry));
        }
        long now = System.nanoTime();
        if (lastStepNanos != 0) {
            double sps = batchSize / ((now - lastStepNanos) / 1e9);
            throughput = throughput == 0 ? sps : 0.9 * throughput + 0.1 * sps;
        }
        lastStepNanos = now;
        if (steps.count() % 10 == 1) {
            double error = orthogonalityError.getAsDouble();
            set(orthoError, error);
            if (!orthoShown && Double.isFinite(error)) {
                orthoShown = true;
                Gauge.builder("kdstream.student.orthogonality.error", orthoError, StudentMetrics::value)
                        .description("Frobenius norm of P^T P - I of the orthogonal projection, every 10 steps")
                        .strongReference(true).register(registry);
            }
        }
    }

    /** Training throughput, exponential moving average: for the progress lines, not a meter. */
    double samplesPerSecond() {
        return throughput;
    }

    void evaluated(StudentModel.EvalResult e) {
        set(accuracy, e.accuracy());
        set(evalLoss, e.loss());
        if (!evalShown) {
            evalShown = true;
            Gauge.builder("kdstream.student.eval.accuracy", accuracy, StudentMetrics::value).baseUnit("ratio")
                    .description("Fraction of the evaluation split classified correctly at the last evaluation")
                    .strongReference(true).register(registry);
            Gauge.builder("kdstream.student.eval.loss", evalLoss, StudentMetrics::value)
                    .description("Cross-entropy on the evaluation split at the last evaluation")
                    .strongReference(true).register(registry);
        }
    }

    void checkpointed() {
        lastCheckpointNanos.set(System.nanoTime());
        if (!checkpointShown) {
            checkpointShown = true;
            Gauge.builder("kdstream.student.checkpoint.age", lastCheckpointNanos,
                            a -> (System.nanoTime() - a.get()) / 1e9).baseUnit("seconds")
                    .description("Time since this process last wrote a checkpoint (absent until its first)")
                    .strongReference(true).register(registry);
        }
    }

    /** Records not yet trained, over every position of the feed or (run &ge; 0) of one joined run. */
    private double lag(int run) {
        BatchFeed s = stream;
        Map<Integer, Long> next = state.next();
        long lag = 0;
        for (Map.Entry<Integer, Long> e : s.endOffsets().entrySet()) {
            if (run < 0 || JoinedFeed.runOf(e.getKey()) == run) {
                lag += Math.max(0, e.getValue() - next.getOrDefault(e.getKey(), 0L));
            }
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
