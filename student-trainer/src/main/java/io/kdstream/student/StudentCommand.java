package io.kdstream.student;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.djl.Device;

import io.kdstream.config.Bounded;
import io.kdstream.config.Choice;
import io.kdstream.config.EnumChoice;
import io.kdstream.config.OptionRules;
import io.kdstream.config.PathOption;
import io.kdstream.duration.DurationConverter;
import io.kdstream.codec.InputMode;
import io.kdstream.data.DataWorkers;
import io.kdstream.manifest.RunSpec;
import io.kdstream.service.ServiceOptions;
import io.kdstream.service.ServiceShell;
import io.kdstream.service.WorkerOptions;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.service.MetricsServer;
import io.kdstream.model.Architecture;
import io.kdstream.model.Devices;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.Normalization;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code kdstream student}: the student-trainer service. */
@Command(name = "student", mixinStandardHelpOptions = true, resourceBundle = "io.kdstream.student.StudentHelp",
        description = {"Trains one student from a run's feature stream (VkD objective), or from several runs joined by "
                + "batch key (one teacher head each).",
                "Runs in its own consumer group. Resumes from the newest valid checkpoint.",
                "Exit codes: 0 done (or stopped by SIGTERM after a checkpoint), 1 error, 2 bad usage (one line names "
                        + "the option), 3 stopped idle before every batch arrived, 4 Kafka refused the login or an ACL, "
                        + "6 batches it still needed were deleted from <run>.features (retention or deleteRecords; one "
                        + "line names the range)."})
public final class StudentCommand implements Callable<Integer>, OptionRules {

    private static final Logger LOG = LoggerFactory.getLogger(StudentCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ServiceOptions service;

    @Mixin
    WorkerOptions shared;

    @Option(names = "--run", required = true, split = ",", paramLabel = "RUN",
            description = "Run id (its manifest must exist or appear). Repeat it (or RUN,RUN; config key run=RUN,RUN) "
                    + "to join several runs by batch key: one teacher head each, in this order; their manifests must "
                    + "cut the same batches from the same samples (docs/teachers.md).")
    List<String> runs;

    @Option(names = "--group", required = true, description = "Consumer group: one per experiment.")
    String group;

    @Option(names = "--arch", converter = Architecture.Names.class, completionCandidates = Architecture.Names.class,
            description = "Student architecture: ${COMPLETION-CANDIDATES} (default: cnn; exclusive with --student).")
    String arch;

    @Option(names = "--student", paramLabel = "FILE.pt", converter = PathOption.ExistingFile.class,
            description = "Train this TorchScript module (torch.jit.script, PyTorch >= 1.13) instead of an --arch; its "
                    + "forward takes the normalized [B, C, H, W] input and returns features [B, d_s] and logits "
                    + "(docs/pytorch.md). The trained module is written to <checkpoint-dir>/student.pt.")
    Path student;

    @Option(names = "--student-outputs", defaultValue = "features,logits", converter = StudentOutputs.class,
            completionCandidates = StudentOutputs.class,
            description = "Order of the --student module's outputs: ${COMPLETION-CANDIDATES} "
                    + "(default: ${DEFAULT-VALUE}).")
    String studentOutputs;

    @Option(names = "--projection", defaultValue = "matrix_exp", converter = Projection.Names.class,
            completionCandidates = Projection.Names.class,
            description = "matrix_exp | cayley (VkD) | linear (FitNet-style) | none (d_s = d_t) (default: ${DEFAULT-VALUE}).")
    Projection projection;

    @Option(names = "--feature-loss", defaultValue = "l2", converter = FeatureLoss.Names.class,
            completionCandidates = FeatureLoss.Names.class, description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    FeatureLoss featureLoss;

    @Option(names = "--student-norm", defaultValue = "none", converter = StudentNorms.class,
            completionCandidates = StudentNorms.class,
            description = "none | layer: standardize the student embedding before the projection (feature loss only; "
                    + "default: ${DEFAULT-VALUE}).")
    Normalization studentNorm;

    @Option(names = "--alpha", defaultValue = "1.0", converter = Bounded.NonNegativeReal.class, description = "Feature-loss weight; 0 = no feature distillation (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--gamma", defaultValue = "0.0", converter = Bounded.NonNegativeReal.class, description = "Logit-distillation weight; needs a run whose teacher publishes logits (teacher --logits): "
                    + "refused on a run without them (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--temperature", defaultValue = "2.0", converter = Bounded.PositiveReal.class,
            description = "Logit-distillation temperature, with --gamma > 0 (default: ${DEFAULT-VALUE}, as in the demo and study).")
    double temperature;

    @Option(names = "--teacher-weight", paramLabel = "RUN=W", split = ",",
            converter = {RunIds.class, Bounded.NonNegativeReal.class},
            description = "Weight W >= 0 of run RUN's feature loss (repeat, or RUN=W,RUN=W): the feature loss is "
                    + "sum_i W_i * loss(P_i(s), t_i), one projection P_i per run; weights are used as given, one for "
                    + "every --run, not all 0 (default: equal weights summing to 1).")
    Map<String, Double> teacherWeights;

    @Option(names = "--logits-from", paramLabel = "RUN|mean",
            description = "Logit distillation (--gamma) from this --run's logits, or mean: from the average of the "
                    + "softened probabilities softmax(y/T) of every run that carries logits (default: mean; with one "
                    + "run, its logits). Refused before training when the run (or, for mean, every run) has none.")
    String logitsFrom;

    @Option(names = "--label-smoothing", defaultValue = "0.0", converter = Bounded.UnitInterval.class, description = "Cross-entropy label smoothing (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(names = "--optimizer", defaultValue = "adamw", converter = Optimizers.class, completionCandidates = Optimizers.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    ParameterOptimizer.Kind optimizer;

    @Option(names = "--lr", defaultValue = "0.002", converter = Bounded.PositiveReal.class, description = "Base learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0.0005", converter = Bounded.NonNegativeReal.class, description = "Weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--schedule", defaultValue = "cosine", converter = Schedules.class, completionCandidates = Schedules.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    LrSchedule.Kind schedule;

    @Option(names = "--warmup-steps", defaultValue = "20", converter = Bounded.NonNegativeInt.class, description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmupSteps;

    @Option(names = "--replay-epochs", defaultValue = "0", converter = Bounded.NonNegativeInt.class,
            description = "Extra passes over the retained topic after the run's epochs: a student trains the teacher's "
                    + "--epochs plus these, one batch per record (default: ${DEFAULT-VALUE}).")
    int replayEpochs;

    @Option(names = "--checkpoint-dir", required = true, converter = PathOption.Directory.class,
            description = "Checkpoints of this experiment; created (and checked for writing) at start.")
    Path checkpointDir;

    @Option(names = "--checkpoint-every", defaultValue = "200", converter = Bounded.PositiveInt.class, description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--eval-every", defaultValue = "0", converter = Bounded.NonNegativeInt.class, description = "Steps between test evaluations; 0 = at the end only (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-limit", defaultValue = "0", converter = Bounded.NonNegativeInt.class,
            description = "Periodic evaluations use a stratified subset of this many test samples (0 = all); "
                    + "the final evaluation always uses the whole test split (default: ${DEFAULT-VALUE}).")
    int evalLimit;

    @Option(names = "--eval-split", defaultValue = "test", converter = EvalSplits.class, completionCandidates = EvalSplits.class,
            description = "test | validation: evaluate on the test split, or on a validation set carved from the training "
                    + "split outside the run's subset (for tuning; default: ${DEFAULT-VALUE}).")
    String evalSplit;

    @Option(names = "--validation-size", defaultValue = "2000", converter = Bounded.PositiveInt.class,
            description = "Samples of the validation set with --eval-split validation (default: ${DEFAULT-VALUE}).")
    int validationSize;

    @Option(names = "--max-nonfinite", defaultValue = "5", converter = Bounded.PositiveInt.class,
            description = "Non-finite losses in a row before restoring the last checkpoint and stopping (default: ${DEFAULT-VALUE}).")
    int maxNonFinite;

    @Option(names = "--prefetch", defaultValue = "4", converter = Bounded.PositiveInt.class, description = "Batches fetched and decoded ahead (default: ${DEFAULT-VALUE}).")
    int prefetch;

    @Option(names = "--idle-timeout", defaultValue = "30m", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Stop when no batch arrives for this long (" + DurationConverter.SYNTAX + "; default: ${DEFAULT-VALUE}).")
    Duration idleTimeout;

    @Option(names = "--manifest-timeout", defaultValue = "5m", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long to wait for a teacher to publish the run's manifest (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    Duration manifestTimeout;

    @Option(names = "--teacher-id", description = "Refuse to train unless the run's teacher has this id (SHA-256).")
    String expectedTeacherId;

    @Option(names = "--trace", paramLabel = "FILE", converter = PathOption.OutputFile.class,
            description = "Append a line per applied step (pass, epoch, batch, step), per start and per checkpoint "
                    + "to FILE, for auditing exactly-once training across crashes (see docs/reliability.md).")
    Path trace;

    /** Runs the student-trainer alone (container images), without the other subcommands. */
    public static void main(String[] args) {
        ServiceShell.main(new StudentCommand(), args);
    }

    /**
     * Serves {@code /metrics}, {@code /healthz} and {@code /readyz} first, before the engine, the
     * manifest or Kafka are waited for: {@code /readyz} answers 503 until the trainer has resumed
     * and reads the features topic, 200 while it does.
     */
    @Override
    public Integer call() throws Exception {
        StudentConfig cfg = config(); // every option checked before the engine, the disk or Kafka is touched
        if (cfg.torchScriptStudent() != null) {
            // fail on a file that is not TorchScript now, not after waiting for the manifest
            TorchScriptStudent.check(cfg.torchScriptStudent().file());
        }
        PathOption.createDirectory(spec, "--checkpoint-dir", checkpointDir);
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student", "run", String.join("+", runs), "group",
                group);
        AtomicReference<StudentTrainer> trainer = new AtomicReference<>();
        return ServiceShell.serve(service, registry, () -> trainer.get() != null && trainer.get().isConsuming(),
                metrics -> train(cfg, registry, metrics, trainer));
    }

    private int train(StudentConfig cfg, PrometheusMeterRegistry registry, MetricsServer metrics,
                      AtomicReference<StudentTrainer> running) throws Exception {
        Device onDevice = Devices.resolve(shared.device);
        LOG.info("student device: {}", onDevice);
        var clients = service.clients();
        ManifestStore manifests = new ManifestStore(clients);
        List<RunSpec> specs = new ArrayList<>();
        for (String run : runs) {
            RunSpec s = manifests.await(run, manifestTimeout);
            checkManifest(s);
            specs.add(s);
        }
        JoinedRuns joined = JoinedRuns.of(specs); // one line naming a field the runs disagree on, before any wait
        TeacherHead.forRuns(cfg, specs); // weights and the logit source against what the runs carry
        RunSpec spec = joined.first(); // the dataset and batch plan every run shares

        DatasetRef ref = DatasetRef.parse(spec.datasetId());
        if (shared.dataset != null) {
            ref = ref.withDataset(shared.dataset);
        }
        // a joined student rebuilds inputs (and decodes as the teachers did) only when no run carries them inline
        ref = ref.withJpegDecoder(StudentJpegDecoder.choose(runs.get(0), ref,
                joined.rebuildsInputs() ? InputMode.REFERENCE : InputMode.INLINE, shared.jpegDecoder));
        ImageDataset train = ref.train();
        ImageDataset test = switch (evalSplit) {
            case "test" -> ref.test(spec.augmentation().evalCentreCrop());
            case "validation" -> ref.validation(validationSize);
            default -> throw new IllegalStateException("--eval-split " + evalSplit); // refused by EvalSplits
        };
        boolean rebuildsInputs = joined.rebuildsInputs() && !train.inMemory();
        if (shared.dataWorkers != null && !rebuildsInputs) { // refused, not ignored: nothing would read images
            String why = joined.inlineRun() >= 0
                    ? "run " + runs.get(joined.inlineRun()) + " carries its inputs in its records"
                    : (joined.joined() ? "runs " + String.join(", ", runs) + " read " : "run " + runs.get(0) + " reads ")
                            + ref.id() + ", which is held in memory";
            throw new IllegalStateException(why
                    + ": --data-workers only acts when a reference-mode student reads image folders or tar shards; "
                    + "drop it");
        }
        DataWorkers workers = rebuildsInputs ? shared.openDataWorkers() : DataWorkers.INLINE;
        StepTrace stepTrace = trace != null ? StepTrace.open(trace) : null;
        StudentTrainer.Builder builder = StudentTrainer.builder().setClients(clients).setRuns(specs).setGroup(group)
                .setCheckpointDir(checkpointDir).setInputNormalization(inputNormalization(spec, train))
                .optDevice(onDevice)
                .optConfig(cfg).optCheckpointEvery(checkpointEvery).optEvalEvery(evalEvery)
                .optMaxNonFinite(maxNonFinite).optPrefetch(prefetch).optIdleTimeout(idleTimeout)
                .optTrainData(train).optTestData(test).optDataWorkers(workers)
                .optPeriodicTestData(evalLimit > 0 ? test.subset(1.0, evalLimit, 1L) : null).optRegistry(registry)
                .addListener(new JsonProgress(group, shared.progressInterval));
        if (stepTrace != null) {
            builder.addListener(stepTrace);
        }
        StudentTrainer trainer = builder.build();
        running.set(trainer);
        // SIGTERM: stop after the current step, write a checkpoint, exit 0; batches deleted: exit 6 with one line
        try (workers) {
            return ServiceShell.runStoppable("student", metrics, trainer::stop, Duration.ofSeconds(120), () -> {
                StudentTrainer.Result result;
                try {
                    result = trainer.run();
                } finally {
                    if (stepTrace != null) {
                        stepTrace.close();
                    }
                }
                printResult(result);
                return result.outcome() == StudentTrainer.Outcome.IDLE_TIMEOUT ? 3 : 0;
            });
        }
    }

    /** Options that only act with others, refused where they would do nothing. */
    @Override
    public void checkOptionRules(Given given) {
        given.refuseUnless(gamma > 0, "--temperature", "it is logit distillation's temperature and --gamma is 0");
        given.refuseUnless(student != null, "--student-outputs", "it orders a --student module's outputs and no "
                + "--student is given");
        given.refuseUnless("validation".equals(evalSplit), "--validation-size", "it sizes the validation set of "
                + "--eval-split validation, and the split is " + evalSplit);
        if (evalLimit > 0) {
            given.refuseUnless(evalEvery > 0, "--eval-limit", "it sizes the periodic evaluations and --eval-every is 0 "
                    + "(the final evaluation always uses the whole split)");
        }
        for (String feature : List.of("--projection", "--feature-loss", "--student-norm", "--teacher-weight")) {
            given.refuseUnless(alpha > 0, feature, "it shapes the feature loss and --alpha is 0");
        }
        given.refuseUnless(gamma > 0, "--logits-from", "it picks logit distillation's teacher and --gamma is 0");
        List<String> runs = joinedRuns();
        if (logitsFrom != null && !StudentConfig.LOGITS_MEAN.equals(logitsFrom) && !runs.contains(logitsFrom)) {
            given.refuse("--logits-from", "it names run " + logitsFrom + ", which this student does not join (--run "
                    + String.join(", ", runs) + "), and is not mean");
        }
        if (teacherWeights != null) {
            for (String r : teacherWeights.keySet()) {
                given.refuseUnless(runs.contains(r), "--teacher-weight", "it names run " + r
                        + ", which this student does not join (--run " + String.join(", ", runs) + ")");
            }
            given.refuseUnless(teacherWeights.values().stream().anyMatch(w -> w > 0), "--teacher-weight",
                    "it gives every run weight 0, so no teacher's features count (for that, --alpha 0)");
            if (!teacherWeights.keySet().containsAll(runs)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "Option '--teacher-weight' gives no "
                        + "weight for run " + String.join(", ", runs.stream().filter(r -> !teacherWeights.containsKey(r))
                        .toList()) + ": give one for every --run, or none for equal weights");
            }
        }
    }

    /** The runs this student joins, in {@code --run} order (their heads' order). */
    List<String> joinedRuns() {
        return runs;
    }

    /** The options as a configuration; a misspelt option fails here, before Kafka is contacted. */
    StudentConfig config() {
        if (arch != null && student != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give either --arch or --student, not both");
        }
        runs.stream().filter(r -> Collections.frequency(runs, r) > 1).findFirst().ifPresent(r -> {
            throw new CommandLine.ParameterException(spec.commandLine(), "Option '--run' names run " + r
                    + " twice: give each run once");
        });
        if (expectedTeacherId != null && runs.size() > 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Option '--teacher-id' names one run's "
                    + "teacher and this student joins " + runs.size() + " runs: drop it");
        }
        return StudentConfig.builder().optArch(Architecture.parse(arch != null ? arch : "cnn"))
                .optTorchScriptStudent(student, studentOutputs)
                .optProjection(projection)
                .optFeatureLoss(featureLoss).optStudentNorm(studentNorm)
                .optAlpha(alpha).optGamma(gamma).optTemperature(temperature).optLabelSmoothing(labelSmoothing)
                .optOptimizer(optimizer).optLr(lr).optWeightDecay(weightDecay)
                .optSchedule(schedule).optWarmupSteps(warmupSteps)
                .optReplayEpochs(replayEpochs).optSeed(shared.seed)
                .optTeacherWeights(teacherWeights != null ? teacherWeights : Map.of())
                .optLogitsFrom(logitsFrom != null ? logitsFrom : StudentConfig.LOGITS_MEAN).build();
    }

    /** {@code --student-norm}: the normalizations a student embedding can take. */
    static final class StudentNorms extends EnumChoice<Normalization> {
        StudentNorms() {
            super(new Normalization[] {Normalization.NONE, Normalization.LAYER}, Normalization::configName);
        }
    }

    /** The RUN of {@code --teacher-weight RUN=W}: a run id, refused at parse time when it cannot be one. */
    static final class RunIds implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            if (!RunSpec.isRunId(value)) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a run id (1-200 characters of "
                        + "[A-Za-z0-9._-])");
            }
            return value;
        }
    }

    /** {@code --student-outputs}. */
    static final class StudentOutputs extends Choice {
        StudentOutputs() {
            super(List.of("features,logits", "logits,features"));
        }
    }

    /** {@code --optimizer}. */
    static final class Optimizers extends EnumChoice<ParameterOptimizer.Kind> {
        Optimizers() {
            super(ParameterOptimizer.Kind.values(), Choice::lower);
        }
    }

    /** {@code --schedule}. */
    static final class Schedules extends EnumChoice<LrSchedule.Kind> {
        Schedules() {
            super(LrSchedule.Kind.values(), Choice::lower);
        }
    }

    /** {@code --eval-split}. */
    static final class EvalSplits extends Choice {
        EvalSplits() {
            super(List.of("test", "validation"));
        }
    }

    private void printResult(StudentTrainer.Result result) {
        new ProgressEvent.StudentResult(group, result.outcome().name().toLowerCase(java.util.Locale.ROOT),
                result.steps(), result.trainedBatches(), result.totalBatches(), result.finalAccuracy(), evalSplit,
                result.bestAccuracy(), result.duplicatesSkipped(), result.rejected(), result.nonFiniteSteps()).print();
    }

    /**
     * The given normalization, else the manifest's, else the dataset's; given values that differ from
     * the manifest's are refused: the student would see other inputs than the teacher did.
     */
    InputNormalization inputNormalization(RunSpec spec, ImageDataset train) {
        InputNormalization given = shared.givenInputNormalization(spec.inputShape().get(0));
        if (spec.inputMean() == null) { // a manifest from before it was recorded
            return given != null ? given : InputNormalization.forDataset(train);
        }
        if (given != null && !given.sameAs(spec.inputMean(), spec.inputStd())) {
            throw new IllegalStateException("input normalization: manifest of run " + spec.runId() + " has mean="
                    + spec.inputMean() + " std=" + spec.inputStd() + ", this student was given mean=" + shared.inputMean
                    + " std=" + shared.inputStd);
        }
        return InputNormalization.of(spec.inputMean(), spec.inputStd(), spec.inputShape().get(0));
    }

    /** What the options ask of the run's stream, refused before training when the run does not carry it. */
    void checkManifest(RunSpec spec) {
        if (spec.schemaVersion() != RunSpec.SCHEMA_VERSION) {
            throw new IllegalStateException("schema_version: manifest of run " + spec.runId() + " has "
                    + spec.schemaVersion()
                    + ", this student reads " + RunSpec.SCHEMA_VERSION);
        }
        if (expectedTeacherId != null && !expectedTeacherId.equals(spec.teacherId())) {
            throw new IllegalStateException("teacher_id: manifest of run " + spec.runId() + " has " + spec.teacherId()
                    + ", expected " + expectedTeacherId);
        }
    }

    /** Machine-readable progress for orchestrators (the demo reads it): steps at an interval, every eval. */
    private static final class JsonProgress implements StudentListener {
        private final String group;
        private final long intervalNanos;
        private long last;

        JsonProgress(String group, Duration interval) {
            this.group = group;
            this.intervalNanos = interval.toNanos();
        }

        @Override
        public void onStep(StepEvent e) {
            long now = System.nanoTime();
            if (intervalNanos <= 0 || now - last < intervalNanos && e.trained() != e.totalBatches()) {
                return;
            }
            last = now;
            new ProgressEvent.StudentProgress(group, e.step(), e.trained(), e.totalBatches(), e.total(), e.ce(),
                    e.feature(), e.kd(), e.samplesPerSecond()).print();
        }

        @Override
        public void onEval(long step, double accuracy, double loss) {
            new ProgressEvent.StudentEval(group, step, accuracy, loss).print();
        }
    }
}
