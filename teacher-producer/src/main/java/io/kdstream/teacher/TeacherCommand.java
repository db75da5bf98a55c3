package io.kdstream.teacher;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.djl.Device;

import io.kdstream.config.Bounded;
import io.kdstream.config.Choice;
import io.kdstream.config.EnumChoice;
import io.kdstream.config.OptionRules;
import io.kdstream.config.PathOption;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.duration.DurationConverter;
import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.WhiteningRef;
import io.kdstream.service.ServiceOptions;
import io.kdstream.service.ServiceShell;
import io.kdstream.service.WorkerOptions;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DataWorkers;
import io.kdstream.data.DatasetNotFoundException;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.Datasets;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.ImageSize;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.JpegDecoder;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunRetention;
import io.kdstream.kafka.RunTopics;
import io.kdstream.service.MetricsServer;
import io.kdstream.model.Devices;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.FeatureModels;
import io.kdstream.model.ModelCard;
import io.kdstream.model.TorchScriptFeatureModel;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.vkd.Normalization;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code kdstream teacher}: the teacher-producer service. */
@Command(name = "teacher", mixinStandardHelpOptions = true, resourceBundle = "io.kdstream.teacher.TeacherHelp",
        description = {"Runs a teacher-producer: normalized teacher features onto Kafka, exactly once.",
                "Publishes every training batch as one member of the run's teacher group. Exits 0 when every batch "
                        + "of the run is published (by this or another teacher) or on SIGTERM after aborting the open "
                        + "transaction.",
                "Exit codes: 0 done or stopped, 1 error, 2 bad usage (one line names the option), 4 Kafka refused "
                        + "the login or an ACL, 5 another live teacher took over this --instance-id (the newer one "
                        + "carries on)."})
public final class TeacherCommand implements Callable<Integer>, OptionRules {

    private static final Logger LOG = LoggerFactory.getLogger(TeacherCommand.class);

    /** Exit code of a teacher fenced by another live teacher started with the same {@code --instance-id}. */
    public static final int EXIT_FENCED = 5;

    @Mixin
    ServiceOptions service;

    @Mixin
    WorkerOptions shared;

    @Option(names = "--run", required = true, description = "Run id; prefixes the run's topics.")
    String run;

    @Option(names = "--teacher", required = true, paramLabel = "DIR|model.pt", converter = PathOption.Model.class,
            description = "A model directory with model.json (zoo or imported TorchScript), or a TorchScript .pt file.")
    Path teacherPath;

    @Option(names = "--teacher-outputs", defaultValue = "features,logits", converter = TeacherOutputs.class,
            completionCandidates = TeacherOutputs.class,
            description = "For a .pt file: what its forward returns: features | features,logits | logits,features "
                    + "(default: ${DEFAULT-VALUE}).")
    String teacherOutputs;

    @Option(names = "--image-size", paramLabel = "H[,W]", converter = ImageSize.Checked.class,
            description = "Image folders: scale each image so it covers HxW (its shorter side for a square size) and "
                    + "center-crop it, so images of any size can be mixed; augmentation applies on top. Recorded in "
                    + "the run's dataset id, so students read the same. Default: images used as they are (one size).")
    String imageSize;

    @Option(names = "--train-fraction", defaultValue = "1.0", converter = Bounded.Fraction.class,
            description = "Stratified share of the training split (default: ${DEFAULT-VALUE}).")
    double trainFraction;

    @Option(names = "--train-limit", defaultValue = "0", converter = Bounded.NonNegativeInt.class, description = "At most this many training samples (0 = all).")
    int trainLimit;

    @Option(names = "--epochs", defaultValue = "1", converter = Bounded.PositiveInt.class, description = "Teacher passes over the data (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", converter = Bounded.PositiveInt.class, description = "Samples per batch = per record (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--norm", defaultValue = "layer", converter = Normalization.Names.class,
            completionCandidates = Normalization.Names.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). whiten: one ZCA matrix for the whole "
                    + "run, estimated from a calibration set (--whiten-samples) by the first teacher and read by the "
                    + "others; whiten-batch: each batch by its own covariance (degenerate for B <= d_t).")
    Normalization norm;

    @Option(names = "--whiten-samples", defaultValue = "0", paramLabel = "N", converter = Bounded.NonNegativeInt.class,
            description = "--norm whiten: calibration set size, the first N training samples of a run seeded "
                    + "--whiten-seed, without augmentation (default 0: 4 × d_t, at most the training split).")
    int whitenSamples;

    @Option(names = "--whiten-seed", paramLabel = "SEED",
            description = "--norm whiten: seed that orders the calibration set (default: --seed).")
    Long whitenSeed;

    @Option(names = "--whiten-shrinkage", defaultValue = "0.01", paramLabel = "S", converter = Bounded.PositiveReal.class,
            description = "--norm whiten: epsilon = S × mean feature variance is added to the covariance's diagonal "
                    + "(default: ${DEFAULT-VALUE}).")
    double whitenShrinkage;

    @Option(names = "--feature-dtype", defaultValue = "f16", converter = FeatureDTypes.class,
            completionCandidates = FeatureDTypes.class,
            description = "${COMPLETION-CANDIDATES}; i8: int8 with a scale per sample, half the bytes of f16 "
                    + "(default: ${DEFAULT-VALUE}).")
    DType featureDtype;

    @Option(names = "--inputs", defaultValue = "inline", converter = InputMode.Names.class,
            completionCandidates = InputMode.Names.class, description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    InputMode inputs;

    @Option(names = "--augment", defaultValue = "flip", converter = AugmentPolicy.Names.class,
            description = "none | flip | crop | crop+flip, optionally +erase (default: ${DEFAULT-VALUE}).")
    AugmentPolicy augment;

    @Option(names = "--logits", description = "Also publish the teacher's logits (for logit distillation).")
    boolean logits;

    @Option(names = "--instance-id",
            description = "Stable id of this teacher instance (default: host name): its transactional id and its "
                    + "static membership of the teachers' group, so a restart with the same id aborts the dead "
                    + "one's open transaction and takes its work partitions back at once. Two live teachers must "
                    + "not share one.")
    String instanceId;

    @Option(names = "--feature-partitions", defaultValue = "1", converter = Bounded.PositiveInt.class,
            description = "Partitions of <run>.features when created (default: ${DEFAULT-VALUE}).")
    int featurePartitions;

    @Option(names = "--work-partitions", defaultValue = "4", converter = Bounded.PositiveInt.class,
            description = "Partitions of <run>.work when created: the most teachers that can share a run (default: ${DEFAULT-VALUE}).")
    int workPartitions;

    @Option(names = "--batches-per-item", defaultValue = "4", converter = Bounded.PositiveInt.class, description = "Batches per work item (one transaction; default: ${DEFAULT-VALUE}).")
    int batchesPerItem;

    @Option(names = "--replication-factor", defaultValue = "-1", converter = Bounded.ReplicationFactor.class, description = "Replication factor of created topics (-1: broker default).")
    short replicationFactor;

    @Option(names = "--max-lead-batches", defaultValue = "2000", converter = Bounded.NonNegativeLong.class,
            description = "Pause while the slowest student group lags by more than this many records (default: ${DEFAULT-VALUE}).")
    long maxLeadBatches;

    @Option(names = "--student-groups", split = ",", description = "Student groups to wait for (others are discovered).")
    List<String> studentGroups = List.of();

    @Option(names = "--transaction-timeout", defaultValue = "60s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long a dead teacher's open transaction blocks students (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    Duration transactionTimeout;

    @Option(names = "--retention", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long <run>.features and <run>.work keep records when this teacher creates them (e.g. "
                    + "90d or P90D). Default: until the run is deleted (kdstream runs delete). The manifest is "
                    + "compacted, the DLQ keeps 7 days. A shorter retention on an existing topic is reported once "
                    + "with the command to fix it.")
    Duration retention;

    @Option(names = "--broker-bytes-budget", defaultValue = "0", paramLabel = "BYTES", converter = Bounded.NonNegativeLong.class,
            description = "Disk the run may use on the brokers, all replicas; exported for the alert (0 = none).")
    long brokerBytesBudget;

    /** Runs the teacher-producer alone (container images), without the other subcommands. */
    public static void main(String[] args) {
        ServiceShell.main(new TeacherCommand(), args);
    }

    /** Options that only act with others, refused where they would do nothing. */
    @Override
    public void checkOptionRules(Given given) {
        boolean whiten = norm == Normalization.WHITEN;
        for (String w : List.of("--whiten-samples", "--whiten-seed", "--whiten-shrinkage")) {
            given.refuseUnless(whiten, w, "it sets the calibrated whitening of --norm whiten, and --norm is "
                    + norm.configName());
        }
        boolean torchScript = teacherPath != null && teacherPath.toString().endsWith(".pt");
        given.refuseUnless(torchScript, "--teacher-outputs", "it describes a TorchScript .pt teacher, and --teacher "
                + teacherPath + " is a model directory (its model.json says what it returns)");
        if (given.has("--jpeg-decoder")) {
            given.refuseUnless(decodesFiles(shared.dataset), "--jpeg-decoder", "it picks what decodes an image folder's JPEGs, "
                    + "and --dataset " + shared.dataset + " is IDX files");
        }
        if (logits && "features".equals(teacherOutputs) && torchScript) {
            given.refuse("--logits", "--teacher-outputs features says the teacher returns no logits");
        }
    }

    /** Whether {@code dataset} is read from image files; true where it cannot be found yet (loading it says so). */
    private static boolean decodesFiles(String dataset) {
        try {
            return Datasets.decodesFiles(dataset);
        } catch (DatasetNotFoundException | IllegalArgumentException e) {
            return true;
        }
    }

    /**
     * Serves {@code /metrics}, {@code /healthz} and {@code /readyz} first, before the engine, the
     * teacher or Kafka are waited for: {@code /readyz} answers 503 until the worker's transactional
     * producer is initialized and its work consumer subscribed (it can take work), 200 while it runs.
     */
    @Override
    public Integer call() throws Exception {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("teacher", "run", run);
        TeacherMetrics metrics = new TeacherMetrics();
        metrics.bindTo(registry);
        AtomicReference<TeacherWorker> running = new AtomicReference<>();
        return ServiceShell.serve(service, registry, () -> running.get() != null && running.get().isReady(),
                server -> teach(registry, server, metrics, running));
    }

    private int teach(PrometheusMeterRegistry registry, MetricsServer server, TeacherMetrics metrics,
                      AtomicReference<TeacherWorker> ref) throws Exception {
        Device onDevice = Devices.resolve(shared.device);
        LOG.info("teacher device: {}", onDevice);
        String instance = instanceId != null ? instanceId : hostName();
        DatasetRef data = new DatasetRef(shared.dataset, trainFraction, trainLimit, shared.seed,
                imageSize == null ? null : ImageSize.parse(imageSize),
                Datasets.decodesFiles(shared.dataset) ? shared.jpegDecoder.resolve() : JpegDecoder.JAVA);
        ImageDataset train = data.train();
        KafkaClients clients = service.clients();

        InputNormalization given = givenInputNormalization(train);
        try (FeatureModel teacher = openTeacher(train, given, onDevice)) {
            ModelCard card = teacher.card();
            List<Integer> shape = List.of(train.channels(), train.height(), train.width());
            if (!card.inputShape().equals(shape)) {
                throw new IllegalArgumentException("teacher expects inputs " + card.inputShape() + " but dataset "
                        + shared.dataset + " has " + shape);
            }
            Normalization normalization = norm;
            if (normalization == Normalization.WHITEN_BATCH && batchSize <= teacher.featureDim()) {
                // each batch is whitened on its own: with B <= d_t its targets come out mutually
                // orthogonal with equal norms, keeping none of the teacher's class geometry
                LOG.warn("--norm whiten-batch with --batch-size {} <= d_t = {}: each batch's whitened features come "
                        + "out mutually orthogonal with equal norms and keep almost none of the teacher's similarities "
                        + "between samples (docs/study/vit-40ep); use --norm whiten (calibrated) or layer",
                        batchSize, teacher.featureDim());
            }
            AugmentPolicy policy = augment;
            DataWorkers workers = shared.openDataWorkers();
            BatchSource batches = new BatchSource(train, shared.seed, batchSize, policy, workers);
            batches.unreadable().bindTo(registry);
            RunSpec spec = RunSpec.builder().setRunId(run).setSource(data.id(), train.numClasses(), shape)
                    .setTeacher(teacher.id(), card.outputs() != null ? card.outputs() : "pooled-features")
                    .setFeatures(teacher.featureDim(), normalization, featureDtype)
                    .optLogitClasses(logits ? card.numClasses() : 0)
                    .optInputMode(inputs)
                    .optAugmentation(policy)
                    .setStream(batchSize, batches.batchesPerEpoch(), epochs, shared.seed).build();
            InputNormalization trainedWith = new InputNormalization(floats(card.normMean()), floats(card.normStd()));
            InputNormalization inputNorm = given != null ? given : trainedWith;
            if (!inputNorm.equals(trainedWith)) {
                LOG.warn("teacher {} was trained with input normalization {}; using the given {}", teacherPath,
                        trainedWith, inputNorm);
            }
            LOG.info("input normalization {}", inputNorm);
            spec = spec.withInputNormalization(inputNorm.mean(), inputNorm.std());
            if (normalization == Normalization.WHITEN) {
                int samples = whitenSamples > 0 ? whitenSamples
                        : WhiteningCalibrator.defaultSamples(teacher.featureDim(), train.size());
                spec = spec.withWhitening(new WhiteningRef(samples, whitenSeed != null ? whitenSeed : shared.seed,
                        whitenShrinkage, null));
            }
            RunSpec configured = spec;
            // one admin client for the whole life of the teacher: setup, flow control, disk metrics
            try (Admin admin = Admin.create(clients.admin())) {
                RunSetup.Prepared prepared = RunSetup.prepare(clients, admin, spec, new RunSetup.Settings(
                        featurePartitions, workPartitions, batchesPerItem, replicationFactor, clients.timeout(),
                        new RunRetention(retention)), () -> WhiteningCalibrator.calibrate(teacher, train, inputNorm,
                        configured.whitening(), batchSize, onDevice));
                if (prepared.whitening() != null) {
                    spec = spec.withWhitening(prepared.manifest().whitening()); // with its hash, for every record
                }
                try (workers; NDManager whiteningArrays = NDManager.newBaseManager(onDevice, "PyTorch");
                     RunDiskMetrics disk = RunDiskMetrics.start(admin, run, brokerBytesBudget, registry);
                     TeacherPipeline pipeline = new TeacherPipeline(teacher, batches, inputNorm,
                             prepared.whitening() != null ? prepared.whitening().normalizer(whiteningArrays)
                                     : normalization.create(), spec, instance, metrics, onDevice)) {
                    LeadMonitor monitor = new LeadMonitor(admin, new RunTopics(run).features(), studentGroups, true,
                            Set.of(TeacherWorker.groupId(run)), Duration.ofSeconds(30));
                    TeacherWorker worker = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                            .setSource(pipeline).optInstanceId(instance).optRegistry(registry).optMetrics(metrics)
                            .optFlowControl(monitor, maxLeadBatches)
                            .optTransactionTimeout(transactionTimeout).build();
                    ref.set(worker);
                    return serve(worker, server, metrics, spec);
                }
            }
        }
    }

    private int serve(TeacherWorker worker, MetricsServer server, TeacherMetrics metrics, RunSpec spec)
            throws Exception {
        ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kdstream-progress");
            t.setDaemon(true);
            return t;
        });
        int total = spec.epochs() * spec.batchesPerEpoch();
        if (shared.progressInterval.toMillis() > 0) {
            progress.scheduleAtFixedRate(() -> printProgress(metrics, total, ProgressEvent.Kind.PROGRESS),
                    shared.progressInterval.toMillis(), shared.progressInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
        long t0 = System.nanoTime();
        // SIGTERM: abort the open transaction, close the clients, exit 0; fenced: exit 5 with one line
        return ServiceShell.runStoppable("teacher", server, worker::stop, Duration.ofSeconds(30), () -> {
            try {
                worker.run();
            } finally {
                progress.shutdownNow();
            }
            ProgressEvent.TeacherProgress done = printProgress(metrics, total, ProgressEvent.Kind.RESULT);
            // both spans, so that a report timing the process from outside (the demo's) can be checked
            double serving = (System.nanoTime() - t0) / 1e9;
            double sinceLaunch = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
            LOG.info(String.format(Locale.ROOT, "teacher finished: %d batches, %d samples in %.0f s serving "
                    + "(%.0f samples/s); %.0f s since launch (%.0f samples/s)", done.batches(), done.samples(),
                    serving, done.samples() / serving, sinceLaunch, done.samples() / sinceLaunch));
            return 0;
        });
    }

    private static ProgressEvent.TeacherProgress printProgress(TeacherMetrics metrics, int total,
                                                               ProgressEvent.Kind event) {
        ProgressEvent.TeacherProgress p = new ProgressEvent.TeacherProgress(event, metrics.batches(), total,
                metrics.samples(), metrics.forwardSeconds(), metrics.pausedSeconds());
        p.print();
        return p;
    }

    /** --input-mean/--input-std, or null when neither is given. */
    InputNormalization givenInputNormalization(ImageDataset train) {
        return shared.givenInputNormalization(train.channels());
    }

    FeatureModel openTeacher(ImageDataset train, InputNormalization given, Device onDevice) throws IOException {
        if (Files.isRegularFile(teacherPath) && teacherPath.toString().endsWith(".pt")) {
            return TorchScriptFeatureModel.loadFile(teacherPath, teacherOutputs, train.channels(), train.height(),
                    train.width(), shared.dataset, given != null ? given : InputNormalization.forDataset(train), onDevice);
        }
        if (!Files.isRegularFile(teacherPath.resolve(ModelCard.FILE_NAME))) {
            throw new IllegalArgumentException("--teacher " + teacherPath + " is neither a model directory (with "
                    + ModelCard.FILE_NAME + ") nor a TorchScript .pt file; train one with 'kdstream train-teacher'");
        }
        return FeatureModels.load(teacherPath, onDevice);
    }

    /** {@code --teacher-outputs}: what a TorchScript teacher's forward returns. */
    static final class TeacherOutputs extends Choice {
        TeacherOutputs() {
            super(List.of("features", "features,logits", "logits,features"));
        }
    }

    /** {@code --feature-dtype}: the floating types features travel in. */
    static final class FeatureDTypes extends EnumChoice<DType> {
        FeatureDTypes() {
            super(new DType[] {DType.F32, DType.F16, DType.BF16, DType.I8}, d -> d.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    private static float[] floats(List<Float> l) {
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = l.get(i);
        }
        return out;
    }

    private static String hostName() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h;
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "teacher-" + ProcessHandle.current().pid();
        }
    }
}
