package io.kdstream.benchmarks.pipeline;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.model.Architecture;
import io.kdstream.student.BatchFeed;
import io.kdstream.student.LrSchedule;
import io.kdstream.student.ParameterOptimizer;
import io.kdstream.student.Projection;
import io.kdstream.student.StudentConfig;
import io.kdstream.student.StudentListener;
import io.kdstream.student.StudentTrainer;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.Normalization;

/**
 * What every section of the pipeline benchmark shares: the broker's clients, a work directory,
 * the table rows and the figure being filled, the demo-shaped run, and the product's trainer run
 * and timed ({@link #train}).
 */
abstract class PipelineSection {

    /** The demo's batch: 128 Fashion-MNIST images inline (u8), d_t = 256 f16 features, 10 logits. */
    static final int BATCH = 128;
    static final int TEACHER_DIM = 256;

    /** One benchmark run's shared facts; {@code quick} is the smoke mode (fewer batches and repetitions). */
    record Bench(KafkaClients clients, String bootstrap, Path work, boolean quick, List<String> rows,
                 PipelinePlot plot) {
    }

    protected final KafkaClients clients;
    protected final String bootstrap;
    protected final Path work;
    protected final boolean quick;
    protected final List<String> rows;
    protected final PipelinePlot plot;

    PipelineSection(Bench bench) {
        this.clients = bench.clients();
        this.bootstrap = bench.bootstrap();
        this.work = bench.work();
        this.quick = bench.quick();
        this.rows = bench.rows();
        this.plot = bench.plot();
    }

    /** What a run of the trainer measured; steps are timed by a listener, from step {@code warmup} on. */
    record Fed(double samplesPerSecond, List<Long> stepNanos, Map<String, Long> stepAt, double gcSeconds,
               Map<String, Double> phaseMillis) {
    }

    /** Collection time of every collector of this JVM so far (the broker's and the clients' included). */
    private static double gcSeconds() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum() / 1e3;
    }

    /** The product's trainer, fed by {@code feed} (null: from {@code <run>.features}). */
    Fed train(RunSpec run, String arch, int replayEpochs, int warmup, String group, BatchFeed.Opener feed)
            throws Exception {
        return train(run, config(arch, replayEpochs), warmup, group, feed);
    }

    Fed train(RunSpec run, StudentConfig config, int warmup, String group, BatchFeed.Opener feed)
            throws Exception {
        return train(run, config, warmup, group, feed, false);
    }

    /**
     * As above; {@code trainerOwnCore}: at the first step, every thread of this JVM (broker, fetch,
     * heartbeat, GC) moves to core 0 and the trainer's thread alone to core 1, so that what feeds
     * the trainer never takes its core. Every thread gets both cores back at the end.
     */
    Fed train(RunSpec run, StudentConfig config, int warmup, String group, BatchFeed.Opener feed,
              boolean trainerOwnCore) throws Exception {
        return train(List.of(run), config, warmup, group, feed, trainerOwnCore);
    }

    /** As above, for a student joining {@code runs} (one run: the product's one-run student). */
    Fed train(List<RunSpec> runs, StudentConfig config, int warmup, String group, BatchFeed.Opener feed,
              boolean trainerOwnCore) throws Exception {
        List<Long> stepNanos = new ArrayList<>();
        Map<String, Long> stepAt = new ConcurrentHashMap<>();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        StudentTrainer trainer = StudentTrainer.builder().setClients(clients).setRuns(runs).setGroup(group)
                .optRegistry(registry)
                .setCheckpointDir(work.resolve("ckpt-" + group)).setInputNormalization(normalization())
                .optConfig(config).optCheckpointEvery(1_000_000).optPrefetch(4)
                .optIdleTimeout(Duration.ofSeconds(120)).optFeed(feed)
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        if (trainerOwnCore && stepNanos.isEmpty()) {
                            pinTrainerAlone();
                        }
                        long now = System.nanoTime();
                        stepNanos.add(now);
                        if (e.pass() == 0) {
                            stepAt.put(e.key(), now);
                        }
                    }
                }).build();
        double gc0 = gcSeconds();
        StudentTrainer.Result r;
        try {
            r = trainer.run();
        } finally {
            if (trainerOwnCore) {
                pin("0,1");
            }
        }
        if (r.outcome() != StudentTrainer.Outcome.COMPLETED) {
            throw new IllegalStateException(group + " did not complete: " + r);
        }
        long t0 = stepNanos.get(warmup - 1);
        long t1 = stepNanos.get(stepNanos.size() - 1);
        Map<String, Double> phases = new TreeMap<>();
        for (Timer t : registry.find("kdstream.student.step").timers()) {
            phases.put(t.getId().getTag("phase"), Math.round(t.mean(TimeUnit.MILLISECONDS) * 100) / 100.0);
        }
        double samplesPerSecond = (double) (stepNanos.size() - warmup) * BATCH / ((t1 - t0) / 1e9);
        // the step-to-step time the phase timers do not cover (listeners, bookkeeping, commits,
        // checkpoints), over every step as the timers are
        double covered = phases.values().stream().mapToDouble(Double::doubleValue).sum();
        double stepMillis = (stepNanos.get(stepNanos.size() - 1) - stepNanos.get(0)) / 1e6 / (stepNanos.size() - 1);
        phases.put("outside", Math.round((stepMillis - covered) * 100) / 100.0);
        return new Fed(samplesPerSecond, stepNanos, stepAt, gcSeconds() - gc0, phases);
    }

    /** The demo's run shape: {@code batches} batches of {@link #BATCH}, d_t = {@link #TEACHER_DIM}. */
    static RunSpec spec(String runId, int batches) {
        return SyntheticBatches.spec(runId, BATCH, TEACHER_DIM, batches);
    }

    /** The demo's VkD row with logit KD. */
    static StudentConfig config(String arch, int replayEpochs) {
        return config(arch, replayEpochs, 1.0, 0.5);
    }

    static StudentConfig config(String arch, int replayEpochs, double alpha, double gamma) {
        return StudentConfig.builder().optArch(Architecture.parse(arch)).optProjection(Projection.MATRIX_EXP)
                .optFeatureLoss(FeatureLoss.L2).optAlpha(alpha).optGamma(gamma).optTemperature(2.0)
                .optLabelSmoothing(0.0).optOptimizer(ParameterOptimizer.Kind.ADAMW).optLr(1e-3).optWeightDecay(1e-4)
                .optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0).optReplayEpochs(replayEpochs).optSeed(3L)
                .optStudentNorm(Normalization.LAYER).build();
    }

    static InputNormalization normalization() {
        return SyntheticBatches.inputNormalization();
    }

    void createTopic(String topic) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) -1)
                    .configs(TopicAdmin.maxMessageBytes(clients.maxRecordBytes()))), Duration.ofSeconds(60));
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static long[] round(double[] v) {
        return Arrays.stream(v).mapToLong(Math::round).toArray();
    }

    static String round2(double[] v) {
        return Arrays.toString(Arrays.stream(v).mapToObj(x -> String.format("%.2f", x)).toArray());
    }

    /** Create-time of the first and of the last of {@code n} committed records of a topic (ms). */
    long[] recordTimeSpan(String topic, int n) {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "bench-span"))) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            int seen = 0;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (seen < n && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    first = Math.min(first, r.timestamp());
                    last = Math.max(last, r.timestamp());
                    seen++;
                }
            }
        }
        return new long[] {first, last};
    }

    /** Pins every thread of this JVM to the given CPUs (taskset; threads started later inherit it). */
    static void pin(String cpus) throws Exception {
        taskset("-a", "-p", "-c", cpus, Long.toString(ProcessHandle.current().pid()));
    }

    private static void taskset(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("taskset"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed");
        }
    }

    /** Called on the trainer's thread: every thread to core 0, then this one alone to core 1. */
    private static void pinTrainerAlone() {
        try {
            pin("0");
            // /proc/thread-self -> <pid>/task/<tid>: the Linux thread id of the calling thread
            String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            taskset("-p", "-c", "1", tid);
        } catch (Exception e) {
            throw new IllegalStateException("cannot pin the trainer's thread: " + e.getMessage(), e);
        }
    }

    RunSpec awaitManifest(String run, Process teacher, Path log) throws Exception {
        ManifestStore manifests = new ManifestStore(clients);
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!teacher.isAlive()) {
                throw new IllegalStateException("teacher exited early; see " + log + ":\n" + Files.readString(log));
            }
            var spec = manifests.read(run, Duration.ofSeconds(5));
            if (spec.isPresent()) {
                return spec.get();
            }
        }
        throw new IllegalStateException("no manifest for run " + run + " within 120 s; see " + log);
    }
}
