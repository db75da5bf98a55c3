package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.FeatureBatchValidator;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DataWorkers;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.DeadLetterQueue;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Trains one student experiment from a run's feature stream (DESIGN.md §1, §3, §5, §6): reads
 * {@code <run>.features} in its own consumer group, trains on each batch exactly once per pass,
 * checkpoints parameters, optimizer state and stream position together, evaluates on the test
 * split, and stops when every batch of every pass is trained. The exactly-once bookkeeping is
 * {@link TrainingState}'s, evaluation the {@link Evaluator}'s, the meters {@link StudentMetrics}'.
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
    private final JoinedRuns runs;
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
    private final DataWorkers dataWorkers;
    private final ImageDataset test;
    private final ImageDataset periodicTest;
    private final InputNormalization norm;
    private final MeterRegistry registry;
    private final List<StudentListener> listeners;
    private final BatchFeed.Opener feed;
    private final Device device;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile boolean consuming;

    private StudentTrainer(Builder b) {
        this.clients = b.clients;
        this.runs = b.runs;
        this.run = b.runs.first();
        this.group = b.group;
        this.cfg = b.config;
        this.checkpoints = new CheckpointStore(b.checkpointDir, b.keepCheckpoints);
        this.checkpointEvery = b.checkpointEvery;
        this.evalEvery = b.evalEvery;
        this.maxNonFinite = b.maxNonFinite;
        this.prefetch = b.prefetch;
        this.idleTimeout = b.idleTimeout;
        this.train = b.train;
        this.dataWorkers = b.dataWorkers;
        this.test = b.test;
        this.periodicTest = b.periodicTest;
        this.norm = b.norm;
        this.registry = b.registry;
        this.listeners = List.copyOf(b.listeners);
        this.feed = b.feed;
        this.device = b.device;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * True while the trainer has resumed and reads its feed (what a student's {@code /readyz}
     * reports); false before, and after the run ends.
     */
    public boolean isConsuming() {
        return consuming;
    }

    /** Asks the trainer to stop after the current step; it writes a checkpoint first. */
    public void stop() {
        stopping.set(true);
    }

    /**
     * Trains until done, stopped or idle, in the order of DESIGN.md §6: resume from the newest valid
     * checkpoint, then per record take → de-duplicate → step → rewind at the end of a pass →
     * evaluate → commit progress → checkpoint; at the end evaluate on the test split and checkpoint.
     *
     * @throws TrainingDivergedException after {@code maxNonFinite} non-finite losses in a row
     */
    public Result run() throws IOException, InterruptedException {
        int passes = 1 + cfg.replayEpochs();
        try (StudentModel model = new StudentModel(cfg, run, TeacherHead.forRuns(cfg, runs.specs()), device);
             KafkaProducer<String, byte[]> dlqProducer = feed == null
                     ? new KafkaProducer<>(clients.producer(group + "-dlq")) : null) {
            TrainingState state = resume(model, passes);
            listeners.forEach(l -> l.onStart(state.step()));
            LrSchedule schedule = LrSchedule.of(cfg.schedule(), cfg.lr(), cfg.warmupSteps(), state.trained().total());
            BatchTensors tensors = batchTensors(model);
            StudentMetrics metrics = new StudentMetrics(state, model::orthogonalityError);
            metrics.bindTo(registry);
            Evaluator evaluator = new Evaluator(group, model, norm, new Evaluator.Plan(test, periodicTest, evalEvery),
                    metrics, listeners, checkpoints, s -> checkpoint(model, s));
            Tally tally = new Tally();
            long lastCheckpointStep = state.step();
            long lastRecordNanos = System.nanoTime();
            Outcome outcome = Outcome.COMPLETED;

            try (BatchFeed stream = opener(dlqProducer, passes, tensors, state).open(state.offsets(), state.pass())) {
                metrics.watch(stream);
                if (!(stream instanceof JoinedFeed)) {
                    JoinedFeed.joinWait(registry, run.runId());
                }
                consuming = true;
                while (!state.complete()) {
                    if (stopping.get()) {
                        outcome = Outcome.STOPPED;
                        break;
                    }
                    long w0 = System.nanoTime();
                    BatchFeed.Item item = stream.take(Duration.ofMillis(500));
                    metrics.waited(System.nanoTime() - w0);
                    if (item == null) {
                        if (System.nanoTime() - lastRecordNanos > idleTimeout.toNanos()) {
                            LOG.warn("{}: no new batch for {} s; stopping with {} of {} batches trained{}", group,
                                    idleTimeout.toSeconds(), state.trained().count(), state.trained().total(),
                                    stream instanceof JoinedFeed j ? missing(j) : "");
                            outcome = Outcome.IDLE_TIMEOUT;
                            break;
                        }
                        continue;
                    }
                    lastRecordNanos = System.nanoTime();
                    if (item.pass() != state.pass()) {
                        continue; // queued before a rewind
                    }
                    // whatever becomes of the item, its records are not read again
                    List<BatchFeed.Fetched> parts;
                    if (item instanceof BatchFeed.Fetched f) {
                        state.consumed(f.partition(), f.offset());
                        parts = List.of(f);
                    } else if (item instanceof BatchFeed.Joined j) {
                        state.consumedUpTo(j.next());
                        tally.rejected += j.rejected(); // the runs' feeds sent them to their DLQs
                        if (j.parts().isEmpty()) {
                            continue; // only positions moved
                        }
                        parts = j.parts();
                    } else {
                        BatchFeed.Rejected r = (BatchFeed.Rejected) item;
                        state.consumed(r.partition(), r.offset());
                        tally.rejected++; // the feed sent it to the DLQ
                        continue;
                    }
                    FeatureBatch batch = parts.get(0).batch();
                    int epoch = batch.metadata().epoch();
                    int index = batch.metadata().batchIndex();
                    if (state.alreadyTrained(epoch, index)) {
                        tally.duplicates++;
                        metrics.duplicate();
                        continue;
                    }
                    double lr = schedule.at(state.step());
                    StudentModel.StepResult r = step(model, tensors, parts, lr);
                    metrics.timed(r);
                    if (!r.applied()) {
                        skipNonFinite(model, batch, r, tally, metrics);
                        continue;
                    }
                    tally.nonFiniteInRow = 0;
                    state.stepped(epoch, index);
                    metrics.stepped(r, batch.batchSize());
                    StudentListener.StepEvent ev = new StudentListener.StepEvent(state.step(), state.pass(),
                            batch.recordKey(), lr, r.total(), r.ce(), r.feature(), r.kd(), state.trained().count(),
                            state.trained().total(), metrics.samplesPerSecond());
                    listeners.forEach(l -> l.onStep(ev));

                    if (state.advancePass(passes)) {
                        stream.rewind(state.pass());
                        LOG.info("{}: pass {} of {} starts (replaying the topic)", group, state.pass() + 1, passes);
                    }
                    evaluator.afterStep(state);
                    long sinceCheckpoint = state.step() - lastCheckpointStep;
                    if (sinceCheckpoint < checkpointEvery) {
                        commitProgress(state, stream);
                    } else {
                        saveCheckpoint(model, state, stream, metrics);
                        lastCheckpointStep = state.step();
                    }
                }
                if (outcome != Outcome.STOPPED) {
                    evaluator.finish(state);
                }
                saveCheckpoint(model, state, stream, metrics);
            } finally {
                consuming = false;
            }
            Path exported = model.exportStudent(checkpoints.dir()); // the model as training left it
            if (exported != null) {
                LOG.info("{}: trained student written to {}", group, exported);
            }
            LOG.info("{}: {} after {} steps, {} of {} batches trained, test accuracy {}", group, outcome, state.step(),
                    state.trained().count(), state.trained().total(), evaluator.lastAccuracy());
            return new Result(outcome, state.step(), state.trained().count(), state.trained().total(),
                    evaluator.lastAccuracy(), state.best(), tally.duplicates, tally.rejected, tally.nonFinite);
        }
    }

    /** Records skipped on the way, for the result. */
    private static final class Tally {
        long duplicates;
        long rejected;
        long nonFinite;
        int nonFiniteInRow;
    }

    /** The newest valid checkpoint's state, loaded into {@code model}; a fresh state without one. */
    private TrainingState resume(StudentModel model, int passes) {
        var restored = checkpoints.latestValid();
        if (restored.isEmpty()) {
            return TrainingState.fresh(passes, run.epochs(), run.batchesPerEpoch());
        }
        Checkpoint c = restored.get();
        experiment().requireResumable(c, checkpoints.dir());
        TrainingState state = TrainingState.from(c);
        model.loadState(c.tensors(), state.optimizerUpdates());
        LOG.info("resumed {} from step {} ({} of {} batches trained)", group, state.step(), state.trained().count(),
                state.trained().total());
        return state;
    }

    /**
     * Model inputs from the records (inline), or rebuilt from the training split (reference mode);
     * joined runs take them from the first run that carries them inline.
     */
    private BatchTensors batchTensors(StudentModel model) {
        BatchSource replay = runs.rebuildsInputs()
                ? new BatchSource(requireTrain(), run.seed(), run.batchSize(), run.augmentation(), dataWorkers)
                : null;
        return new BatchTensors(norm, replay, model.inputShape());
    }

    /**
     * The feed given to the builder, or {@code <run>.features} with the run's dead-letter queue; for
     * several runs, one such feed per run joined by batch key ({@link JoinedFeed}).
     */
    private BatchFeed.Opener opener(KafkaProducer<String, byte[]> dlqProducer, int passes, BatchTensors tensors,
                                    TrainingState state) {
        if (feed != null) {
            return feed;
        }
        // the inputs come from one run's records (or are rebuilt once): the others only stage teacher tensors
        int inputs = runs.inputsRun();
        List<BatchFeed.Opener> perRun = new ArrayList<>();
        for (int i = 0; i < runs.specs().size(); i++) {
            RunSpec spec = runs.specs().get(i);
            RunTopics topics = new RunTopics(spec.runId());
            DeadLetterQueue dlq = new DeadLetterQueue(dlqProducer, topics.dlq(), group, registry,
                    Duration.ofSeconds(30));
            FeatureBatchValidator validator = runs.rebuildsInputs() // every run is by reference
                    ? new FeatureBatchValidator(spec).withSampleIds(requireTrain()::contains)
                    : new FeatureBatchValidator(spec);
            BatchStream.Source source = new BatchStream.Source(clients, topics, group, passes, prefetch,
                    runs.joined() ? group + "-stream-" + spec.runId() : group + "-stream");
            Function<FeatureBatch, BatchTensors.Staged> stager = i == inputs ? tensors::stageAhead : BatchTensors::stage;
            perRun.add((offsets, startPass) -> new BatchStream(source, offsets, startPass, validator, dlq, registry,
                    stager));
        }
        return runs.joined()
                ? JoinedFeed.opener(runs.ids(), perRun, prefetch, state::alreadyTrained, registry)
                : perRun.get(0);
    }

    /**
     * One optimizer step on a batch, one record per run (inputs and labels from the run that carries
     * the inputs); every array of it lives in a sub-manager closed here.
     */
    private StudentModel.StepResult step(StudentModel model, BatchTensors tensors, List<BatchFeed.Fetched> parts,
                                         double lr) {
        BatchFeed.Fetched in = parts.get(runs.inputsRun());
        try (NDManager sub = model.manager().newSubManager()) {
            List<NDArray> features = new ArrayList<>(parts.size());
            List<NDArray> logits = new ArrayList<>(parts.size());
            for (BatchFeed.Fetched f : parts) {
                features.add(BatchTensors.features(sub, f.batch(), f.staged()));
                logits.add(BatchTensors.logits(sub, f.batch(), f.staged()));
            }
            return model.step(sub, tensors.inputs(sub, in.batch(), in.staged()), sub.create(in.batch().labels()),
                    features, logits, lr);
        }
    }

    /** For the idle timeout's line: which joined run misses which batches. */
    private static String missing(JoinedFeed feed) {
        String waiting = feed.describeWaiting(5);
        return waiting.isEmpty() ? "; no run has delivered a batch it still needs" : "; " + waiting;
    }

    /**
     * A non-finite loss: the step was skipped; after {@code maxNonFinite} in a row the model goes
     * back to the last checkpoint and training stops (DESIGN.md §6).
     */
    private void skipNonFinite(StudentModel model, FeatureBatch batch, StudentModel.StepResult r, Tally tally,
                               StudentMetrics metrics) {
        tally.nonFinite++;
        metrics.nonFinite();
        LOG.warn("{}: non-finite loss {} on batch {}, step skipped ({} in a row)", group, r.total(),
                batch.recordKey(), tally.nonFiniteInRow + 1);
        if (++tally.nonFiniteInRow >= maxNonFinite) {
            checkpoints.latestValid().ifPresent(c -> {
                model.loadState(c.tensors(), TrainingState.from(c).optimizerUpdates());
                metrics.rolledBack();
            });
            throw new TrainingDivergedException(group + ": " + tally.nonFiniteInRow
                    + " non-finite losses in a row; restored the last checkpoint and stopped "
                    + "(lower the learning rate or check the teacher features)");
        }
    }

    private ImageDataset requireTrain() {
        if (train == null) {
            throw new IllegalStateException("run " + run.runId() + " sends inputs by reference: the student needs "
                    + "the training dataset (" + run.datasetId() + ") to rebuild them");
        }
        return train;
    }

    /** The run and teacher a checkpoint is labelled with; joined runs' ids and teachers joined by '+'. */
    private TrainingState.Experiment experiment() {
        return new TrainingState.Experiment(String.join("+", runs.ids()),
                runs.specs().stream().map(RunSpec::teacherId).collect(java.util.stream.Collectors.joining("+")), group,
                cfg.toString());
    }

    private Checkpoint checkpoint(StudentModel model, TrainingState state) {
        return state.toCheckpoint(model.stateTensors(), model.optimizerUpdates(), experiment());
    }

    /**
     * Every {@link #PROGRESS_COMMIT_STEPS} steps between checkpoints, commits the offsets without
     * waiting. Progress commits keep the group's lag current between checkpoints: teachers throttle
     * on it, and a bound below the checkpoint interval would deadlock. Resume never reads them; it
     * uses the checkpoint's offsets.
     */
    private void commitProgress(TrainingState state, BatchFeed stream) {
        if (state.commitsOffsets() && state.step() % PROGRESS_COMMIT_STEPS == 0) {
            stream.commit(state.offsets());
        }
    }

    /** Writes a checkpoint, then commits its offsets to the group so that lag is visible (DESIGN.md §6). */
    private void saveCheckpoint(StudentModel model, TrainingState state, BatchFeed stream, StudentMetrics metrics)
            throws IOException {
        Path file = checkpoints.save(checkpoint(model, state));
        metrics.checkpointed();
        try {
            if (state.commitsOffsets()) {
                stream.commit(state.offsets()).get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            LOG.warn("{}: committing offsets after checkpoint failed (lag metrics may be stale): {}", group,
                    e.toString());
        }
        long step = state.step();
        listeners.forEach(l -> l.onCheckpoint(step, file));
    }

    /** Builder in the DJL style. */
    public static final class Builder {
        private KafkaClients clients;
        private JoinedRuns runs;
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
        private DataWorkers dataWorkers = DataWorkers.INLINE;
        private ImageDataset test;
        private ImageDataset periodicTest;
        private InputNormalization norm;
        private MeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        private final List<StudentListener> listeners = new ArrayList<>();
        private BatchFeed.Opener feed;
        private Device device;

        /** The device the student, its optimizer state and every step's arrays live on (default: the engine's). */
        public Builder optDevice(Device device) {
            this.device = device;
            return this;
        }

        public Builder setClients(KafkaClients clients) {
            this.clients = clients;
            return this;
        }

        /** The run's manifest, already checked against this student's expectations. */
        public Builder setRun(RunSpec run) {
            return setRuns(List.of(run));
        }

        /**
         * Several runs joined by batch key, one teacher head each, in this order (issue 39); their
         * manifests must cut the same batches from the same samples ({@link JoinedRuns#of}).
         *
         * @throws IllegalStateException naming the first manifest field they disagree on
         */
        public Builder setRuns(List<RunSpec> runs) {
            this.runs = JoinedRuns.of(runs);
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
        /**
         * The data workers that rebuild reference-mode inputs from a dataset read from disk, on the
         * fetch thread ahead of the step (default: in-line on the fetch thread).
         */
        public Builder optDataWorkers(DataWorkers workers) {
            this.dataWorkers = java.util.Objects.requireNonNull(workers, "workers");
            return this;
        }

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

        /**
         * Another source of batches than {@code <run>.features}: the seam for in-memory feeds (the
         * pipeline benchmark measures what Kafka costs against one). Everything else about training
         * is unchanged; offsets and passes are the feed's, and no Kafka client is needed.
         */
        public Builder optFeed(BatchFeed.Opener feed) {
            this.feed = feed;
            return this;
        }

        public StudentTrainer build() {
            if (clients == null && feed == null || runs == null || group == null || checkpointDir == null
                    || norm == null) {
                throw new IllegalStateException("clients (unless a feed is given), run, group, checkpoint dir and "
                        + "input normalization are required");
            }
            if (checkpointEvery <= 0 || maxNonFinite <= 0 || prefetch <= 0) {
                throw new IllegalArgumentException("checkpoint interval, K and prefetch must be > 0");
            }
            return new StudentTrainer(this);
        }
    }
}
