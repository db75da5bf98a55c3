package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchValidator;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.RunSpec;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.DeadLetterQueue;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Trains one student experiment from a run's feature stream (DESIGN.md §1, §3, §5, §6): reads
 * {@code <run>.features} in its own consumer group, trains on each batch exactly once per pass,
 * checkpoints parameters, optimizer state and stream position together, evaluates on the test
 * split, and stops when every batch of every pass is trained.
 */
public final class StudentTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(StudentTrainer.class);

    /** Steps between offset commits that only report progress (see the training loop). */
    static final int PROGRESS_COMMIT_STEPS = 10;

    /** How a run ended. */
    public enum Outcome { COMPLETED, STOPPED, IDLE_TIMEOUT }

    /** Summary of a finished run. */
    public record Result(Outcome outcome, long steps, int trainedBatches, int totalBatches, double finalAccuracy,
                         double bestAccuracy, long duplicatesSkipped, long rejected, long nonFiniteSteps) {
    }

    private final KafkaClients clients;
    private final RunSpec run;
    private final String group;
    private final StudentConfig cfg;
    private final CheckpointStore checkpoints;
    private final int checkpointEvery;
    private final int evalEvery;
    private final int maxNonFinite;
    private final int prefetch;
    private final Duration idleTimeout;
    private final ImageDataset train;
    private final ImageDataset test;
    private final ImageDataset periodicTest;
    private final InputNormalization norm;
    private final MeterRegistry registry;
    private final List<StudentListener> listeners;
    private final BatchFeed.Opener feed;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final Map<String, AtomicLong> lossGauges = new ConcurrentHashMap<>();

    private StudentTrainer(Builder b) {
        this.clients = b.clients;
        this.run = b.run;
        this.group = b.group;
        this.cfg = b.config;
        this.checkpoints = new CheckpointStore(b.checkpointDir, b.keepCheckpoints);
        this.checkpointEvery = b.checkpointEvery;
        this.evalEvery = b.evalEvery;
        this.maxNonFinite = b.maxNonFinite;
        this.prefetch = b.prefetch;
        this.idleTimeout = b.idleTimeout;
        this.train = b.train;
        this.test = b.test;
        this.periodicTest = b.periodicTest;
        this.norm = b.norm;
        this.registry = b.registry;
        this.listeners = List.copyOf(b.listeners);
        this.feed = b.feed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Asks the trainer to stop after the current step; it writes a checkpoint first. */
    public void stop() {
        stopping.set(true);
    }

    /**
     * Trains until done, stopped or idle.
     *
     * @throws TrainingDivergedException after {@code maxNonFinite} non-finite losses in a row
     */
    public Result run() throws IOException, InterruptedException {
        int passes = 1 + cfg.replayEpochs();
        RunTopics topics = new RunTopics(run.runId());
        try (StudentModel model = new StudentModel(cfg, run);
             KafkaProducer<String, byte[]> dlqProducer = new KafkaProducer<>(clients.producer(group + "-dlq"))) {
            TrainedBatches trained = new TrainedBatches(passes, run.epochs(), run.batchesPerEpoch());
            Map<Integer, Long> next = new HashMap<>();
            long step = 0;
            int pass = 0;
            double best = Double.NaN;
            var restored = checkpoints.latestValid();
            if (restored.isPresent()) {
                Checkpoint c = restored.get();
                requireSameExperiment(c);
                model.loadState(c.tensors(), Long.parseLong(c.attributes().getOrDefault("optimizer_updates", "0")));
                trained = TrainedBatches.decode(c.trained());
                next.putAll(c.offsets());
                step = c.step();
                pass = Integer.parseInt(c.attributes().getOrDefault("pass", "0"));
                best = Double.parseDouble(c.attributes().getOrDefault("best_accuracy", "NaN"));
                LOG.info("resumed {} from step {} ({} of {} batches trained)", group, step, trained.count(),
                        trained.total());
            }
            final long startStep = step;
            listeners.forEach(l -> l.onStart(startStep));
            LrSchedule schedule = LrSchedule.of(cfg.schedule(), cfg.lr(), cfg.warmupSteps(), trained.total());
            BatchSource replay = run.inputMode() == InputMode.REFERENCE
                    ? new BatchSource(requireTrain(), run.seed(), run.batchSize(), AugmentPolicy.parse(run.augmentation()))
                    : null;
            BatchTensors tensors = new BatchTensors(norm, replay, model.inputShape());

            Metrics m = new Metrics(model, trained);
            DeadLetterQueue dlq = new DeadLetterQueue(dlqProducer, topics.dlq(), group, registry, Duration.ofSeconds(30));
            long nonFiniteInRow = 0;
            long duplicates = 0;
            long rejected = 0;
            long nonFinite = 0;
            long lastCheckpointStep = step;
            long lastRecordNanos = System.nanoTime();
            double lastAccuracy = Double.NaN;
            Outcome outcome = Outcome.COMPLETED;

            FeatureBatchValidator validator = replay == null ? new FeatureBatchValidator(run)
                    : new FeatureBatchValidator(run).withSampleIds(requireTrain()::contains);
            BatchFeed.Opener opener = feed != null ? feed : (offsets, startPass) -> new BatchStream(clients,
                    topics, group, offsets, startPass, passes, validator, dlq, prefetch, registry);
            try (BatchFeed stream = opener.open(next, pass)) {
                m.stream = stream;
                m.next = next;
                while (!trained.complete()) {
                    if (stopping.get()) {
                        outcome = Outcome.STOPPED;
                        break;
                    }
                    long w0 = System.nanoTime();
                    BatchFeed.Item item = stream.take(Duration.ofMillis(500));
                    m.waitTimer.record(System.nanoTime() - w0, TimeUnit.NANOSECONDS);
                    if (item == null) {
                        if (System.nanoTime() - lastRecordNanos > idleTimeout.toNanos()) {
                            LOG.warn("{}: no new batch for {} s; stopping with {} of {} batches trained", group,
                                    idleTimeout.toSeconds(), trained.count(), trained.total());
                            outcome = Outcome.IDLE_TIMEOUT;
                            break;
                        }
                        continue;
                    }
                    lastRecordNanos = System.nanoTime();
                    if (item.pass() != pass) {
                        continue; // queued before a rewind
                    }
                    next.put(item.partition(), item.offset() + 1);
                    if (item instanceof BatchFeed.Rejected) {
                        rejected++;
                        continue;
                    }
                    BatchFeed.Fetched fetched = (BatchFeed.Fetched) item;
                    FeatureBatch batch = fetched.batch();
                    int epoch = batch.metadata().epoch();
                    int index = batch.metadata().batchIndex();
                    if (trained.contains(pass, epoch, index)) {
                        duplicates++;
                        m.duplicates.increment();
                        continue;
                    }
                    double lr = schedule.at(step);
                    StudentModel.StepResult r;
                    try (NDManager sub = model.manager().newSubManager()) {
                        r = model.step(sub, tensors.inputs(sub, batch), sub.create(batch.labels()),
                                BatchTensors.features(sub, batch, fetched.staged()),
                                BatchTensors.logits(sub, batch, fetched.staged()), lr);
                    }
                    m.forwardTimer.record(r.forwardNanos(), TimeUnit.NANOSECONDS);
                    m.backwardTimer.record(r.backwardNanos(), TimeUnit.NANOSECONDS);
                    if (!r.applied()) {
                        nonFinite++;
                        m.nonFinite.increment();
                        LOG.warn("{}: non-finite loss {} on batch {}, step skipped ({} in a row)", group, r.total(),
                                batch.recordKey(), nonFiniteInRow + 1);
                        if (++nonFiniteInRow >= maxNonFinite) {
                            restoreLastGood(model);
                            throw new TrainingDivergedException(group + ": " + nonFiniteInRow
                                    + " non-finite losses in a row; restored the last checkpoint and stopped "
                                    + "(lower the learning rate or check the teacher features)");
                        }
                        continue;
                    }
                    nonFiniteInRow = 0;
                    trained.add(pass, epoch, index);
                    step++;
                    m.afterStep(r, batch.batchSize());
                    StudentListener.StepEvent ev = new StudentListener.StepEvent(step, pass, batch.recordKey(), lr,
                            r.total(), r.ce(), r.feature(), r.kd(), trained.count(), trained.total(),
                            m.samplesPerSecond());
                    listeners.forEach(l -> l.onStep(ev));

                    if (trained.countInPass(pass) == trained.batchesPerPass() && pass + 1 < passes) {
                        pass++;
                        next.clear();
                        stream.rewind(pass);
                        LOG.info("{}: pass {} of {} starts (replaying the topic)", group, pass + 1, passes);
                    }
                    if (evalEvery > 0 && step % evalEvery == 0 && test != null && !trained.complete()) {
                        lastAccuracy = evaluate(model, step, m, periodicTest != null ? periodicTest : test);
                        if (!(lastAccuracy <= best)) {
                            best = lastAccuracy;
                            checkpoints.saveBest(checkpoint(model, trained, next, step, pass, best));
                        }
                    }
                    if (pass == 0 && step % PROGRESS_COMMIT_STEPS == 0 && step - lastCheckpointStep < checkpointEvery) {
                        // Progress commits keep the group's lag current between checkpoints: teachers
                        // throttle on it, and a bound below the checkpoint interval would deadlock.
                        // Resume never reads them; it uses the checkpoint's offsets.
                        stream.commit(Map.copyOf(next));
                    }
                    if (step - lastCheckpointStep >= checkpointEvery) {
                        saveCheckpoint(model, trained, next, step, pass, best, stream, m);
                        lastCheckpointStep = step;
                    }
                }
                if (test != null && outcome != Outcome.STOPPED) {
                    lastAccuracy = evaluate(model, step, m, test);
                    if (!(lastAccuracy <= best)) {
                        best = lastAccuracy;
                        checkpoints.saveBest(checkpoint(model, trained, next, step, pass, best));
                    }
                }
                saveCheckpoint(model, trained, next, step, pass, best, stream, m);
            }
            LOG.info("{}: {} after {} steps, {} of {} batches trained, test accuracy {}", group, outcome, step,
                    trained.count(), trained.total(), lastAccuracy);
            return new Result(outcome, step, trained.count(), trained.total(), lastAccuracy, best, duplicates,
                    rejected, nonFinite);
        }
    }

    private ImageDataset requireTrain() {
        if (train == null) {
            throw new IllegalStateException("run " + run.runId() + " sends inputs by reference: the student needs "
                    + "the training dataset (" + run.datasetId() + ") to rebuild them");
        }
        return train;
    }

    private double evaluate(StudentModel model, long step, Metrics m, ImageDataset data) {
        StudentModel.EvalResult e = model.evaluate(data, norm, 500);
        m.accuracy.set(Double.doubleToLongBits(e.accuracy()));
        m.evalLoss.set(Double.doubleToLongBits(e.loss()));
        LOG.info("{}: step {} test accuracy {} loss {}", group, step, String.format("%.4f", e.accuracy()),
                String.format("%.4f", e.loss()));
        listeners.forEach(l -> l.onEval(step, e.accuracy(), e.loss()));
        return e.accuracy();
    }

    private Checkpoint checkpoint(StudentModel model, TrainedBatches trained, Map<Integer, Long> next, long step,
                                  int pass, double best) {
        Map<String, String> attrs = new HashMap<>();
        attrs.put("pass", Integer.toString(pass));
        attrs.put("best_accuracy", Double.toString(best));
        attrs.put("optimizer_updates", Long.toString(model.optimizerUpdates()));
        attrs.put("run_id", run.runId());
        attrs.put("teacher_id", run.teacherId());
        attrs.put("group", group);
        attrs.put("config", cfg.toString());
        return new Checkpoint(model.stateTensors(), step, next, trained.encode(), attrs);
    }

    private void saveCheckpoint(StudentModel model, TrainedBatches trained, Map<Integer, Long> next, long step,
                                int pass, double best, BatchFeed stream, Metrics m) throws IOException {
        Path file = checkpoints.save(checkpoint(model, trained, next, step, pass, best));
        m.lastCheckpointNanos.set(System.nanoTime());
        try {
            // offsets of the pass in progress; a replay's positions would look like negative lag
            if (pass == 0) {
                stream.commit(Map.copyOf(next)).get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            LOG.warn("{}: committing offsets after checkpoint failed (lag metrics may be stale): {}", group,
                    e.toString());
        }
        listeners.forEach(l -> l.onCheckpoint(step, file));
    }

    private void requireSameExperiment(Checkpoint c) {
        String runId = c.attributes().get("run_id");
        String teacher = c.attributes().get("teacher_id");
        if (!run.runId().equals(runId) || !run.teacherId().equals(teacher)) {
            throw new IllegalStateException("checkpoint directory " + checkpoints.dir() + " belongs to run " + runId
                    + " (teacher " + teacher + "), not " + run.runId() + " (teacher " + run.teacherId()
                    + "): use another --checkpoint-dir");
        }
        String config = c.attributes().get("config");
        if (config != null && !config.equals(cfg.toString())) {
            LOG.warn("{}: resuming with a configuration that differs from the checkpoint's: was {}", group, config);
        }
    }

    private void restoreLastGood(StudentModel model) {
        checkpoints.latestValid().ifPresent(c -> model.loadState(c.tensors(),
                Long.parseLong(c.attributes().getOrDefault("optimizer_updates", "0"))));
    }

    /** The student's meters (DESIGN.md §7). */
    private final class Metrics {
        final Timer waitTimer;
        final Timer forwardTimer;
        final Timer backwardTimer;
        final Counter steps;
        final Counter samples;
        final Counter nonFinite;
        final Counter duplicates;
        final AtomicLong accuracy = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        final AtomicLong evalLoss = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        final AtomicLong lastCheckpointNanos = new AtomicLong(System.nanoTime());
        final AtomicLong orthoError = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        volatile BatchFeed stream;
        volatile Map<Integer, Long> next;
        private final StudentModel model;
        private double throughput;
        private long lastStepNanos;

        // Gauges hold their objects strongly so the last values stay scrapable after training ends.
        Metrics(StudentModel model, TrainedBatches trained) {
            this.model = model;
            waitTimer = stepTimer("wait");
            forwardTimer = stepTimer("forward");
            backwardTimer = stepTimer("backward");
            steps = Counter.builder("kdstream.student.steps").description("Optimizer steps").register(registry);
            samples = Counter.builder("kdstream.student.samples").description("Samples trained").register(registry);
            nonFinite = Counter.builder("kdstream.student.nonfinite.steps")
                    .description("Steps skipped because the loss was not finite").register(registry);
            duplicates = Counter.builder("kdstream.student.duplicate.batches")
                    .description("Batches skipped because this pass already trained them").register(registry);
            for (String c : List.of("total", "ce", "feature", "kd")) {
                AtomicLong g = lossGauges.computeIfAbsent(c, k -> new AtomicLong(Double.doubleToLongBits(Double.NaN)));
                Gauge.builder("kdstream.student.loss", g, a -> Double.longBitsToDouble(a.get())).tag("component", c)
                        .description("Loss of the last step, by component").strongReference(true).register(registry);
            }
            Gauge.builder("kdstream.student.orthogonality.error", orthoError, a -> Double.longBitsToDouble(a.get()))
                    .description("Frobenius norm of P^T P - I of the projection").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.student.samples.per.second", this, x -> x.throughput)
                    .description("Training throughput (exponential moving average)").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.eval.accuracy", accuracy, a -> Double.longBitsToDouble(a.get()))
                    .description("Test-split accuracy at the last evaluation").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.eval.loss", evalLoss, a -> Double.longBitsToDouble(a.get()))
                    .description("Test-split cross-entropy at the last evaluation").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.checkpoint.age", lastCheckpointNanos,
                    a -> (System.nanoTime() - a.get()) / 1e9).baseUnit("seconds")
                    .description("Time since the last checkpoint").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.student.progress", trained, t -> (double) t.count() / t.total())
                    .description("Fraction of all batches (all passes) trained").strongReference(true)
                    .register(registry);
            Gauge.builder("kdstream.consumer.lag", this, Metrics::lag).baseUnit("records")
                    .description("Records on the features topic not yet trained (all partitions)").strongReference(true)
                    .register(registry);
        }

        private Timer stepTimer(String phase) {
            return Timer.builder("kdstream.student.step").tag("phase", phase)
                    .description("Student step time by phase").publishPercentileHistogram().register(registry);
        }

        private double lag() {
            BatchFeed s = stream;
            Map<Integer, Long> n = next;
            if (s == null || n == null) {
                return Double.NaN;
            }
            long lag = 0;
            for (Map.Entry<Integer, Long> e : s.endOffsets().entrySet()) {
                lag += Math.max(0, e.getValue() - n.getOrDefault(e.getKey(), 0L));
            }
            return lag;
        }

        void afterStep(StudentModel.StepResult r, int batchSize) {
            steps.increment();
            samples.increment(batchSize);
            lossGauges.get("total").set(Double.doubleToLongBits(r.total()));
            lossGauges.get("ce").set(Double.doubleToLongBits(r.ce()));
            lossGauges.get("feature").set(Double.doubleToLongBits(r.feature()));
            lossGauges.get("kd").set(Double.doubleToLongBits(r.kd()));
            long now = System.nanoTime();
            if (lastStepNanos != 0) {
                double sps = batchSize / ((now - lastStepNanos) / 1e9);
                throughput = throughput == 0 ? sps : 0.9 * throughput + 0.1 * sps;
            }
            lastStepNanos = now;
            if (steps.count() % 10 == 1) {
                orthoError.set(Double.doubleToLongBits(model.orthogonalityError()));
            }
        }

        double samplesPerSecond() {
            return throughput;
        }
    }

    /** Builder in the DJL style. */
    public static final class Builder {
        private KafkaClients clients;
        private RunSpec run;
        private String group;
        private StudentConfig config = StudentConfig.defaults();
        private Path checkpointDir;
        private int keepCheckpoints = 3;
        private int checkpointEvery = 200;
        private int evalEvery = 0;
        private int maxNonFinite = 5;
        private int prefetch = 4;
        private Duration idleTimeout = Duration.ofMinutes(30);
        private ImageDataset train;
        private ImageDataset test;
        private ImageDataset periodicTest;
        private InputNormalization norm;
        private MeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        private final List<StudentListener> listeners = new ArrayList<>();
        private BatchFeed.Opener feed;

        public Builder setClients(KafkaClients clients) {
            this.clients = clients;
            return this;
        }

        /** The run's manifest, already checked against this student's expectations. */
        public Builder setRun(RunSpec run) {
            this.run = run;
            return this;
        }

        /** The consumer group: one per experiment. */
        public Builder setGroup(String group) {
            this.group = group;
            return this;
        }

        public Builder setCheckpointDir(Path dir) {
            this.checkpointDir = dir;
            return this;
        }

        /**
         * Input normalization of the student (mean/std of the training set). Required: inline
         * inputs and rebuilt reference inputs alike are normalized with it.
         */
        public Builder setInputNormalization(InputNormalization norm) {
            this.norm = norm;
            return this;
        }

        public Builder optConfig(StudentConfig config) {
            this.config = config;
            return this;
        }

        public Builder optCheckpointEvery(int steps) {
            this.checkpointEvery = steps;
            return this;
        }

        public Builder optKeepCheckpoints(int keep) {
            this.keepCheckpoints = keep;
            return this;
        }

        /** Evaluate on the test split every N steps (0 = only at the end). */
        public Builder optEvalEvery(int steps) {
            this.evalEvery = steps;
            return this;
        }

        /** K: after K non-finite losses in a row the trainer restores the last checkpoint and stops. */
        public Builder optMaxNonFinite(int k) {
            this.maxNonFinite = k;
            return this;
        }

        public Builder optPrefetch(int batches) {
            this.prefetch = batches;
            return this;
        }

        /** Stop (with what was trained) when no new batch arrives for this long. */
        public Builder optIdleTimeout(Duration timeout) {
            this.idleTimeout = timeout;
            return this;
        }

        /** The training split, needed in reference input mode. */
        public Builder optTrainData(ImageDataset train) {
            this.train = train;
            return this;
        }

        /** The test split for evaluation; none = no evaluation. */
        public Builder optTestData(ImageDataset test) {
            this.test = test;
            return this;
        }

        /** A cheaper evaluation set for the periodic evaluations; the final one always uses the test split. */
        public Builder optPeriodicTestData(ImageDataset subset) {
            this.periodicTest = subset;
            return this;
        }

        public Builder optRegistry(MeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        public Builder addListener(StudentListener listener) {
            this.listeners.add(listener);
            return this;
        }

        /** Another source of batches than {@code <run>.features} (the pipeline benchmark's in-memory feed). */
        Builder optFeed(BatchFeed.Opener feed) {
            this.feed = feed;
            return this;
        }

        public StudentTrainer build() {
            if (clients == null || run == null || group == null || checkpointDir == null || norm == null) {
                throw new IllegalStateException("clients, run, group, checkpoint dir and input normalization are required");
            }
            if (checkpointEvery <= 0 || maxNonFinite <= 0 || prefetch <= 0) {
                throw new IllegalArgumentException("checkpoint interval, K and prefetch must be > 0");
            }
            return new StudentTrainer(this);
        }
    }
}
