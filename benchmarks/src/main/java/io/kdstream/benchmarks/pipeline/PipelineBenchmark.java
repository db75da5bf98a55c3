package io.kdstream.student;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.EmbeddedKafkaBroker;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.ManifestStore;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.FeatureModels;
import io.kdstream.teacher.TeacherCommand;

/**
 * What streaming teacher features through Kafka costs a student, measured side by side in one run
 * on the embedded broker (issue 13): feed cost (memory-fed vs Kafka-fed, same student, same
 * batches, same steps), codec throughput against {@code System.arraycopy}, the broker path
 * (transactional + read_committed vs plain), send-to-step latency, and memory over 10,000
 * Kafka-fed steps. Every ratio is taken from interleaved repetitions in this JVM, so load from
 * other jobs hits both sides alike. Prints Markdown rows for docs/benchmarks.md.
 *
 * <pre>benchmarks/pipeline.sh [--quick]</pre>
 */
public final class PipelineBenchmark {

    /** The demo's batch: 128 Fashion-MNIST images inline (u8), d_t = 256 f16 features, 10 logits. */
    private static final int BATCH = 128;
    private static final int TEACHER_DIM = 256;

    private static volatile long sink;

    private final KafkaClients clients;
    private final String bootstrap;
    private final Path work;
    private final boolean quick;
    private final List<String> rows = new ArrayList<>();
    private final PipelinePlot plot = new PipelinePlot();

    private PipelineBenchmark(String bootstrap, Path work, boolean quick) {
        this.bootstrap = bootstrap;
        this.clients = KafkaClients.of(bootstrap);
        this.work = work;
        this.quick = quick;
    }

    private static final List<String> SECTIONS = List.of("codec", "broker", "feed", "latency", "teacher", "memory");

    /** {@code [--quick] [--only SECTION,...]} with sections codec, broker, feed, latency, teacher, memory. */
    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        boolean quick = a.contains("--quick");
        int only = a.indexOf("--only");
        List<String> sections = only < 0 ? SECTIONS
                : only + 1 < a.size() ? Arrays.asList(a.get(only + 1).split(",")) : List.of();
        if (sections.isEmpty() || !SECTIONS.containsAll(sections)
                || a.stream().anyMatch(x -> x.startsWith("--") && !x.equals("--quick") && !x.equals("--only"))) {
            System.err.println("usage: pipeline.sh [--quick] [--only " + String.join(",", SECTIONS) + "]");
            System.exit(2);
        }
        Path work = Files.createTempDirectory("kdstream-pipeline-bench-");
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().optDataDir(work.resolve("kafka"))
                .optCleanStart(true).build().start()) {
            PipelineBenchmark b = new PipelineBenchmark(broker.bootstrapServers(), work, quick);
            b.runAll(sections);
        }
    }

    private void runAll(List<String> sections) throws Exception {
        int batches = quick ? 60 : 300;
        RunSpec run = spec("bench-" + UUID.randomUUID().toString().substring(0, 8), batches);
        List<FeatureBatch> data = batches(run);
        createTopic(new RunTopics(run.runId()).features());
        createTopic(new RunTopics(run.runId()).dlq());

        if (sections.contains("codec")) {
            codec(data.get(0));
        }
        if (sections.contains("broker") || sections.contains("feed") || sections.contains("memory")) {
            brokerPath(run, data); // also fills <run>.features for the Kafka-fed rows
        }
        if (sections.contains("feed")) {
            feedCost(run, data, "mlp", 1);
            feedCost(run, data, "cnn", 0);
        }
        if (sections.contains("latency")) {
            latency(run, data);
        }
        if (sections.contains("teacher")) {
            teacherCost(quick ? 12 : 80);
        }
        if (sections.contains("memory")) {
            memory(run, quick ? 1_000 : 10_000);
        }

        System.out.println();
        System.out.println("| measurement | result |");
        System.out.println("|---|---|");
        rows.forEach(System.out::println);
        // a full run's figure goes to the docs; a smoke or partial run's must not replace it
        Path figure = Path.of(quick || sections.size() < SECTIONS.size() ? "benchmarks/target/pipeline-partial.png"
                : "docs/pipeline.png");
        plot.write(figure);
        System.out.println("figure: " + figure.toAbsolutePath());
    }

    // ---- 4. codec ------------------------------------------------------------------------------

    private void codec(FeatureBatch demo) {
        FeatureBatch big = batch(spec("codec", 1), 0, 256, 3024, false);
        for (FeatureBatch b : List.of(demo, big)) {
            byte[] value = b.encode();
            String name = b.batchSize() + "x" + b.featureDim() + (b.inlineInputs().isPresent() ? " + inputs" : "");
            int reps = Math.max(20, 200_000_000 / value.length / 4);
            byte[] dst = new byte[value.length];
            double copy = 0;
            double clone = 0;
            double enc = 0;
            double dec = 0;
            double toArray = 0;
            double widen = 0;
            double old = 0;
            double create = 0;
            FeatureBatch decodedOnce = FeatureBatch.decode(value);
            BatchTensors.Staged stagedOnce = BatchTensors.stage(decodedOnce);
            try (NDManager manager = NDManager.newBaseManager()) {
                for (int round = 0; round < 5; round++) { // interleaved; round 0 is the warm-up
                    double c = mbPerSecond(value.length, reps, () -> {
                        System.arraycopy(value, 0, dst, 0, value.length);
                        return dst[value.length - 1];
                    });
                    double k = mbPerSecond(value.length, reps, () -> value.clone().length);
                    double e = mbPerSecond(value.length, reps, () -> b.encode().length);
                    double d = mbPerSecond(value.length, reps, () -> FeatureBatch.decode(value).batchSize());
                    double a = mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            FeatureBatch decoded = FeatureBatch.decode(value);
                            return BatchTensors.features(sub, decoded, BatchTensors.stage(decoded)).size();
                        }
                    });
                    double w = mbPerSecond(value.length, reps,
                            () -> BatchTensors.stage(decodedOnce).features().capacity());
                    double n = mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            return BatchTensors.features(sub, decodedOnce, stagedOnce).size();
                        }
                    });
                    double o = mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            return BatchTensors.floats(sub, decodedOnce.teacherFeatures()).size();
                        }
                    });
                    if (round > 0) {
                        widen += w / 4;
                        old += o / 4;
                        create += n / 4;
                        copy += c / 4;
                        clone += k / 4;
                        enc += e / 4;
                        dec += d / 4;
                        toArray += a / 4;
                    }
                }
            }
            rows.add(String.format("| codec %s (%d KB): arraycopy | %.0f MB/s |", name, value.length / 1024, copy));
            rows.add(String.format("| codec %s: copy into a new array (`clone`) | %.0f MB/s |", name, clone));
            rows.add(String.format("| codec %s: encode | %.0f MB/s = **%.2f×** arraycopy, %.2f× clone |", name, enc,
                    enc / copy, enc / clone));
            rows.add(String.format("| codec %s: decode | %.0f MB/s = **%.2f×** arraycopy, %.2f× clone |", name, dec,
                    dec / copy, dec / clone));
            rows.add(String.format("| codec %s: of which staging into a direct buffer (fetch thread) | %.0f MB/s |",
                    name, widen));
            rows.add(String.format("| codec %s: of which staged f16 → float32 NDArray (trainer thread) | %.0f MB/s |",
                    name, create));
            rows.add(String.format("| codec %s: before: widen in Java + float[] → NDArray (trainer thread) | %.0f MB/s |",
                    name, old));
            rows.add(String.format("| codec %s: decode + stage + features to a float32 NDArray | %.0f MB/s = %.3f× arraycopy |",
                    name, toArray, toArray / copy));
        }
    }

    private static double mbPerSecond(int bytes, int reps, LongSupplier op) {
        long sum = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            sum += op.getAsLong();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        sink = sum; // results are used, so the JIT cannot drop the work
        return (double) bytes * reps / s / 1e6;
    }

    // ---- 5. broker path ------------------------------------------------------------------------

    private void brokerPath(RunSpec run, List<FeatureBatch> data) throws Exception {
        String features = new RunTopics(run.runId()).features();
        List<byte[]> values = data.stream().map(FeatureBatch::encode).toList();
        long bytes = values.stream().mapToLong(v -> v.length).sum();
        double txProduce = 0;
        double rawProduce = 0;
        double txConsume = 0;
        double rawConsume = 0;
        int reps = quick ? 1 : 3;
        for (int rep = 0; rep < reps; rep++) {
            String rawTopic = "raw-" + rep + "-" + run.runId();
            createTopic(rawTopic);
            String txTopic = rep == 0 ? features : "tx-" + rep + "-" + run.runId(); // rep 0 feeds the students
            if (rep > 0) {
                createTopic(txTopic);
            }
            txProduce += produceTransactional(txTopic, data, "bench-teacher-" + rep) / reps;
            rawProduce += produceRaw(rawTopic, values) / reps;
            txConsume += consume(txTopic, values.size(), "read_committed") / reps;
            rawConsume += consume(rawTopic, values.size(), "read_uncommitted") / reps;
        }
        double mb = bytes / 1e6;
        int n = values.size();
        rows.add(String.format("| broker: record size | %d KB (%d records) |", bytes / n / 1024, n));
        rows.add(String.format("| broker: produce, transactional (4 batches/txn, acks=all) | %.0f rec/s, %.0f MB/s |",
                n / txProduce, mb / txProduce));
        rows.add(String.format("| broker: produce, plain (acks=all, no txn) | %.0f rec/s, %.0f MB/s; txn = **%.2f×** plain |",
                n / rawProduce, mb / rawProduce, rawProduce / txProduce));
        rows.add(String.format("| broker: consume, read_committed | %.0f rec/s, %.0f MB/s |", n / txConsume,
                mb / txConsume));
        rows.add(String.format("| broker: consume, read_uncommitted, plain topic | %.0f rec/s, %.0f MB/s; committed = **%.2f×** plain |",
                n / rawConsume, mb / rawConsume, rawConsume / txConsume));
    }

    /** Seconds to send every batch the way a teacher does: serializer with headers, 4 batches per transaction. */
    private double produceTransactional(String topic, List<FeatureBatch> data, String txId) {
        FeatureBatchSerializer ser = new FeatureBatchSerializer();
        ser.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, clients.maxRecordBytes()), false);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer(txId))) {
            p.initTransactions();
            long t0 = System.nanoTime();
            for (int i = 0; i < data.size(); i += 4) {
                p.beginTransaction();
                for (int j = i; j < Math.min(i + 4, data.size()); j++) {
                    FeatureBatch b = data.get(j);
                    RecordHeaders h = new RecordHeaders();
                    p.send(new ProducerRecord<>(topic, null, b.recordKey(), ser.serialize(topic, h, b), h));
                }
                p.commitTransaction();
            }
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    private double produceRaw(String topic, List<byte[]> values) throws Exception {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("bench-raw"))) {
            long t0 = System.nanoTime();
            var last = p.send(new ProducerRecord<>(topic, "0", values.get(0)));
            for (int i = 1; i < values.size(); i++) {
                last = p.send(new ProducerRecord<>(topic, Integer.toString(i), values.get(i)));
            }
            p.flush();
            last.get();
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    private double consume(String topic, int expected, String isolation) {
        Map<String, Object> cfg = clients.consumer(null, "bench-reader");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            List<TopicPartition> parts = List.of(new TopicPartition(topic, 0));
            c.assign(parts);
            c.seekToBeginning(parts);
            c.poll(Duration.ZERO); // metadata and position outside the timed loop
            long t0 = System.nanoTime();
            int n = 0;
            long deadline = t0 + 120_000_000_000L;
            while (n < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    n += r.value().length > 0 ? 1 : 0;
                }
            }
            if (n < expected) {
                throw new IllegalStateException("read " + n + " of " + expected + " records of " + topic);
            }
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    // ---- 1. feed cost --------------------------------------------------------------------------

    private void feedCost(RunSpec run, List<FeatureBatch> data, String arch, int replayEpochs) throws Exception {
        int reps = quick ? 1 : 5;
        int warmup = Math.min(20, data.size() / 3);
        double[] memory = new double[reps];
        double[] kafka = new double[reps];
        double[] ratio = new double[reps];
        double[] gc = new double[2]; // memory-fed, Kafka-fed: GC seconds summed over the runs
        Map<String, Double> memoryPhases = null;
        Map<String, Double> kafkaPhases = null;
        for (int rep = 0; rep < reps; rep++) { // interleaved, and which goes first alternates
            boolean memoryFirst = rep % 2 == 0;
            Fed fromKafka = null;
            if (!memoryFirst) {
                fromKafka = train(run, arch, replayEpochs, warmup, "feed-" + arch + "-" + rep, null);
            }
            Fed fromMemory = train(run, arch, replayEpochs, warmup, "memory-" + arch + "-" + rep,
                    (offsets, pass) -> new MemoryFeed(data, offsets, pass));
            if (memoryFirst) {
                fromKafka = train(run, arch, replayEpochs, warmup, "feed-" + arch + "-" + rep, null);
            }
            memory[rep] = fromMemory.samplesPerSecond;
            kafka[rep] = fromKafka.samplesPerSecond;
            gc[0] += fromMemory.gcSeconds;
            gc[1] += fromKafka.gcSeconds;
            if (rep == reps / 2) { // phases of one pair, the middle one
                memoryPhases = fromMemory.phaseMillis;
                kafkaPhases = fromKafka.phaseMillis;
            }
            ratio[rep] = kafka[rep] / memory[rep];
        }
        double m = median(memory);
        double k = median(kafka);
        // the median of back-to-back pairs: load that drifts across the run cancels within a pair
        double r = median(ratio);
        rows.add(String.format("| feed `%s` student, %d steps: memory-fed | %.0f samples/s (runs %s) |", arch,
                data.size() * (1 + replayEpochs), m, Arrays.toString(round(memory))));
        rows.add(String.format("| feed `%s` student: Kafka-fed (prefetch 4) | %.0f samples/s (runs %s); pairs %s: median **%.3f×** memory-fed (target ≥ 0.95×) |",
                arch, k, Arrays.toString(round(kafka)), round2(ratio), r));
        rows.add(String.format("| feed `%s` student: JVM GC time per run, memory-fed vs Kafka-fed | %.2f s vs %.2f s |",
                arch, gc[0] / reps, gc[1] / reps));
        rows.add(String.format("| feed `%s` student: mean ms per step by phase, memory-fed vs Kafka-fed | %s vs %s |",
                arch, memoryPhases, kafkaPhases));
        plot.feed(arch, m, k);
    }

    /** What a run of the trainer measured; steps are timed by a listener, from step {@code warmup} on. */
    private record Fed(double samplesPerSecond, List<Long> stepNanos, Map<String, Long> stepAt, double gcSeconds,
                       Map<String, Double> phaseMillis) {
    }

    /** Collection time of every collector of this JVM so far (the broker's and the clients' included). */
    private static double gcSeconds() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum() / 1e3;
    }

    /** The product's trainer, fed by {@code feed} (null: from {@code <run>.features}). */
    private Fed train(RunSpec run, String arch, int replayEpochs, int warmup, String group, BatchFeed.Opener feed)
            throws Exception {
        return train(run, config(arch, replayEpochs), warmup, group, feed);
    }

    private Fed train(RunSpec run, StudentConfig config, int warmup, String group, BatchFeed.Opener feed)
            throws Exception {
        List<Long> stepNanos = new ArrayList<>();
        Map<String, Long> stepAt = new ConcurrentHashMap<>();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        StudentTrainer trainer = StudentTrainer.builder().setClients(clients).setRun(run).setGroup(group)
                .optRegistry(registry)
                .setCheckpointDir(work.resolve("ckpt-" + group)).setInputNormalization(normalization())
                .optConfig(config).optCheckpointEvery(1_000_000).optPrefetch(4)
                .optIdleTimeout(Duration.ofSeconds(120)).optFeed(feed)
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        long now = System.nanoTime();
                        stepNanos.add(now);
                        if (e.pass() == 0) {
                            stepAt.put(e.key(), now);
                        }
                    }
                }).build();
        double gc0 = gcSeconds();
        StudentTrainer.Result r = trainer.run();
        if (r.outcome() != StudentTrainer.Outcome.COMPLETED) {
            throw new IllegalStateException(group + " did not complete: " + r);
        }
        long t0 = stepNanos.get(warmup - 1);
        long t1 = stepNanos.get(stepNanos.size() - 1);
        Map<String, Double> phases = new TreeMap<>();
        for (Timer t : registry.find("kdstream.student.step").timers()) {
            phases.put(t.getId().getTag("phase"), Math.round(t.mean(TimeUnit.MILLISECONDS) * 100) / 100.0);
        }
        return new Fed((double) (stepNanos.size() - warmup) * BATCH / ((t1 - t0) / 1e9), stepNanos, stepAt,
                gcSeconds() - gc0, phases);
    }

    // ---- 5b. latency ---------------------------------------------------------------------------

    /**
     * Send-to-step latency: a paced teacher (one 4-batch transaction at a time, at about half the
     * student's speed, so the student waits for the teacher and queueing does not dominate).
     */
    private void latency(RunSpec base, List<FeatureBatch> baseData) throws Exception {
        RunSpec run = spec(base.runId() + "-lat", baseData.size());
        List<FeatureBatch> data = batches(run);
        String topic = new RunTopics(run.runId()).features();
        createTopic(topic);
        createTopic(new RunTopics(run.runId()).dlq());
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        long pauseMs = 60; // 4 mlp steps take ~30 ms here
        Thread teacher = new Thread(() -> {
            FeatureBatchSerializer ser = new FeatureBatchSerializer();
            ser.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, clients.maxRecordBytes()), false);
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("bench-lat"))) {
                p.initTransactions();
                for (int i = 0; i < data.size(); i += 4) {
                    p.beginTransaction();
                    for (int j = i; j < Math.min(i + 4, data.size()); j++) {
                        FeatureBatch b = data.get(j);
                        RecordHeaders h = new RecordHeaders();
                        byte[] v = ser.serialize(topic, h, b);
                        sentAt.put(b.recordKey(), System.nanoTime());
                        p.send(new ProducerRecord<>(topic, null, b.recordKey(), v, h));
                    }
                    p.commitTransaction();
                    Thread.sleep(pauseMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "bench-teacher");
        teacher.start();
        Fed fed = train(run, "mlp", 0, 10, "latency", null);
        teacher.join();
        long[] lat = fed.stepAt().entrySet().stream().mapToLong(e -> e.getValue() - sentAt.get(e.getKey())).sorted()
                .toArray();
        rows.add(String.format("| latency teacher send → student step (`mlp`, transactions of 4, %d batches) | p50 %.1f ms, p99 %.1f ms |",
                lat.length, lat[lat.length / 2] / 1e6, lat[(int) (lat.length * 0.99)] / 1e6));
    }

    // ---- 2 and 3. teacher cost hidden, replay amortization ----------------------------------------

    /**
     * The demo's teacher architecture (ResNet-style, d_t = 256; untrained: only speed matters here)
     * and `cnn` student: student alone, online KD (teacher forward on the trainer's thread before
     * every step) and streamed KD (a teacher-producer JVM pinned to core 0, this JVM to core 1),
     * once concurrently with the teacher and once replaying the finished pass.
     */
    private void teacherCost(int batches) throws Exception {
        // Every student run of this row gets the same hardware, core 1; the streamed teacher runs on
        // core 0, as teachers run on their own hardware. (Unpinned, the student-alone baseline got
        // the fetch thread a core of its own that the streamed student did not.)
        pin("1");
        try {
            teacherCostOnCore1(batches);
        } finally {
            pin("0,1");
        }
    }

    private void teacherCostOnCore1(int batches) throws Exception {
        Path teacherDir = work.resolve("teacher");
        try (DjlFeatureModel t = DjlFeatureModel.create(Architecture.RESNET, 1, 28, 28, 10, "fashion-mnist",
                normalization())) {
            t.save(teacherDir);
        }
        RunSpec synth = spec("online-" + UUID.randomUUID().toString().substring(0, 8), batches);
        List<FeatureBatch> data = batches(synth);
        int warmup = 5;
        BatchFeed.Opener memory = (o, p) -> new MemoryFeed(data, o, p);
        double online;
        double teacherSecondsOnline;
        try (FeatureModel teacher = FeatureModels.load(teacherDir)) {
            OnlineTeacherFeed feed = new OnlineTeacherFeed(teacher, normalization(), data);
            online = train(synth, config("cnn", 0), warmup, "online", (o, p) -> feed).samplesPerSecond;
            teacherSecondsOnline = feed.teacherNanos() / 1e9;
        }

        String run = "streamed-" + UUID.randomUUID().toString().substring(0, 8);
        Path log = work.resolve("teacher-" + run + ".log");
        List<String> cmd = List.of("taskset", "-c", "0", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Xmx1g", "-cp",
                System.getProperty("java.class.path"), TeacherCommand.class.getName(), "--run", run,
                "--bootstrap-servers", bootstrap, "--teacher", teacherDir.toString(), "--train-limit",
                Integer.toString(batches * BATCH), "--epochs", "1", "--batch-size", Integer.toString(BATCH),
                "--logits", "--augment", "flip", "--progress-interval", "0");
        Fed concurrent;
        double alone;
        double replay;
        double[] aheadRatio = new double[quick ? 1 : 3];
        double startSeconds;
        double publishSeconds;
        double firstStudentWall; // teacher pass and the student that trains alongside it, start to both done
        double teacherWall;
        List<String> amortized;
        long t0 = System.nanoTime();
        Process teacher = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            CompletableFuture<Long> exited = teacher.onExit().thenApply(p -> System.nanoTime());
            RunSpec spec = awaitManifest(run, teacher, log);
            // started together: the student's clock runs from its first step, waits for the teacher included
            concurrent = train(spec, config("cnn", 0), 1, "streamed", null);
            long studentDone = System.nanoTime();
            if (!teacher.waitFor(10, TimeUnit.MINUTES) || teacher.exitValue() != 0) {
                throw new IllegalStateException("teacher failed; see " + log + ":\n" + Files.readString(log));
            }
            long teacherDone = exited.get();
            teacherWall = (teacherDone - t0) / 1e9;
            firstStudentWall = (Math.max(studentDone, teacherDone) - t0) / 1e9;
            long[] span = recordTimeSpan(new RunTopics(run).features(), batches);
            publishSeconds = (span[1] - span[0]) / 1e3 * batches / (batches - 1.0); // first to last send, per batch
            startSeconds = (span[0] - (System.currentTimeMillis() - (System.nanoTime() - t0) / 1_000_000)) / 1e3;
            // student alone vs streamed with the teacher done: back-to-back pairs, median ratio
            double[] aloneRuns = new double[aheadRatio.length];
            double[] replayRuns = new double[aheadRatio.length];
            for (int i = 0; i < aheadRatio.length; i++) {
                aloneRuns[i] = train(synth, config("cnn", 0, 0, 0), warmup, "alone-" + i, memory).samplesPerSecond;
                replayRuns[i] = train(spec, config("cnn", 0), warmup, "streamed-replay-" + i, null).samplesPerSecond;
                aheadRatio[i] = aloneRuns[i] / replayRuns[i];
            }
            alone = median(aloneRuns);
            replay = median(replayRuns);
            amortized = amortization(spec, teacherDir, data, warmup, firstStudentWall, teacherWall);
        } finally {
            teacher.destroyForcibly();
        }
        double epoch = batches * BATCH;
        double teacherRate = epoch / publishSeconds;
        rows.add(String.format("| teacher cost, %d batches of %d, ResNet teacher, `cnn` student: student alone | %.0f images/s, epoch %.1f s |",
                batches, BATCH, alone, epoch / alone));
        rows.add(String.format("| teacher cost: online KD (teacher forward every step, one process) | %.0f images/s, epoch %.1f s (teacher %.1f s of it) |",
                online, epoch / online, teacherSecondsOnline));
        rows.add(String.format("| teacher cost: streamed teacher pass, own JVM pinned to core 0 | %.0f images/s, %.1f s from first to last batch (+ %.1f s JVM start, model and data load) |",
                teacherRate, publishSeconds, startSeconds));
        rows.add(String.format("| teacher cost: streamed KD, student on core 1 started with the teacher | %.0f images/s, epoch %.1f s = %.2f× alone (bound by the teacher) |",
                concurrent.samplesPerSecond, epoch / concurrent.samplesPerSecond, alone / concurrent.samplesPerSecond));
        rows.add(String.format("| teacher cost: streamed KD, teacher ahead (replaying the finished pass) | %.0f images/s, epoch %.1f s; epoch time vs alone in back-to-back pairs %s: median **%.2f×** (target ≤ 1.05×); **%.1f×** faster than online KD |",
                replay, epoch / replay, round2(aheadRatio), median(aheadRatio), replay / online));
        rows.add(String.format("| teacher cost: lead the teacher needs so the student never waits | %.0f%% of the epoch (1 − teacher rate / student rate, with one teacher) |",
                100 * Math.max(0, 1 - teacherRate / replay)));
        rows.addAll(amortized);
        plot.epoch("alone", epoch / alone);
        plot.epoch("online KD", epoch / online);
        plot.epoch("streamed, live", epoch / concurrent.samplesPerSecond);
        plot.epoch("streamed, ahead", epoch / replay);
    }

    /**
     * Replay amortization, measured: K students from the one teacher pass just made (the first
     * trained alongside the teacher, the others replaying the retained topic one after another)
     * against K online-KD runs, interleaved run by run so that load from elsewhere hits both alike.
     * Wall times are whole trainer runs (set-up, every step, final evaluation), as a user pays them.
     */
    private List<String> amortization(RunSpec spec, Path teacherDir, List<FeatureBatch> data, int warmup,
                                      double firstStudentWall, double teacherWall) throws Exception {
        List<String> out = new ArrayList<>();
        int maxK = quick ? 2 : 8;
        double[] onlineWall = new double[maxK];
        double[] onlineTeacher = new double[maxK];
        double[] streamedWall = new double[maxK];
        streamedWall[0] = firstStudentWall;
        try (FeatureModel teacher = FeatureModels.load(teacherDir)) {
            for (int i = 0; i < maxK; i++) {
                OnlineTeacherFeed feed = new OnlineTeacherFeed(teacher, normalization(), data);
                long t0 = System.nanoTime();
                train(spec, config("cnn", 0), warmup, "online-k" + i, (o, p) -> feed);
                onlineWall[i] = (System.nanoTime() - t0) / 1e9;
                onlineTeacher[i] = feed.teacherNanos() / 1e9;
                if (i > 0) {
                    t0 = System.nanoTime();
                    train(spec, config("cnn", 0), warmup, "replay-k" + i, null);
                    streamedWall[i] = (System.nanoTime() - t0) / 1e9;
                }
            }
        }
        double on = 0;
        double onTeacher = 0;
        double st = 0;
        for (int i = 0; i < maxK; i++) {
            on += onlineWall[i];
            onTeacher += onlineTeacher[i];
            st += streamedWall[i];
            int k = i + 1;
            plot.amortization(k, on, st);
            if (Integer.bitCount(k) == 1) { // K = 1, 2, 4, 8
                out.add(String.format("| replay amortization, K = %d students (measured: K online-KD runs vs one teacher pass + K students) | online KD: %.0f s wall, %.0f teacher-s; streamed: %.0f s wall, %.0f teacher-s (teacher JVM start to exit) = **%.2f×** the wall of online |",
                        k, on, onTeacher, st, teacherWall, st / on));
            }
        }
        return out;
    }

    /** Create-time of the first and of the last of {@code n} committed records of a topic (ms). */
    private long[] recordTimeSpan(String topic, int n) {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "bench-span"))) {
            List<TopicPartition> parts = List.of(new TopicPartition(topic, 0));
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
    private static void pin(String cpus) throws Exception {
        Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", cpus, Long.toString(ProcessHandle.current().pid()))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("taskset -a -p -c " + cpus + " failed");
        }
    }

    private RunSpec awaitManifest(String run, Process teacher, Path log) throws Exception {
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

    // ---- 6. memory -----------------------------------------------------------------------------

    private void memory(RunSpec run, int steps) throws Exception {
        int replay = (steps + run.batchesPerEpoch() - 1) / run.batchesPerEpoch() - 1;
        List<long[]> samples = new ArrayList<>(); // step, rss KiB, heap used bytes, heap committed bytes
        StudentTrainer trainer = StudentTrainer.builder().setClients(clients).setRun(run).setGroup("memory")
                .setCheckpointDir(work.resolve("ckpt-memory")).setInputNormalization(normalization())
                .optConfig(config("mlp", replay)).optCheckpointEvery(1_000).optPrefetch(4)
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        if (e.step() % 1000 == 0) {
                            Runtime rt = Runtime.getRuntime();
                            samples.add(new long[] {e.step(), rssKiB(), rt.totalMemory() - rt.freeMemory(), rt.totalMemory()});
                        }
                    }
                }).build();
        StudentTrainer.Result r = trainer.run();
        StringBuilder trace = new StringBuilder();
        samples.forEach(s -> trace.append(String.format("%d: %d MiB (heap committed %d); ", s[0], s[1] / 1024,
                s[3] >> 20)));
        long[] warm = samples.get(Math.min(1, samples.size() - 1));
        long[] last = samples.get(samples.size() - 1);
        double growth = 100.0 * (last[1] - warm[1]) / warm[1];
        rows.add(String.format("| memory: `mlp` student, %d Kafka-fed steps (%d passes of %d batches, checkpoint every 1,000) | RSS %d → %d MiB from step %d: **%+.1f%%** (target < 5%%); heap at the end %d MiB |",
                r.steps(), replay + 1, run.batchesPerEpoch(), warm[1] / 1024, last[1] / 1024, warm[0], growth,
                last[2] / (1024 * 1024)));
        rows.add("| memory: RSS per 1,000 steps | " + trace.toString().trim() + " |");
    }

    private static long rssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return -1;
    }

    // ---- set-up --------------------------------------------------------------------------------

    private static RunSpec spec(String runId, int batches) {
        return new RunSpec(RunSpec.SCHEMA_VERSION, runId, "synthetic", "bench-teacher", "pool", TEACHER_DIM, 10, 10,
                List.of(1, 28, 28), "layer", DType.F16, InputMode.INLINE, "flip", BATCH, 1, batches, 7L);
    }

    private static List<FeatureBatch> batches(RunSpec run) {
        List<FeatureBatch> out = new ArrayList<>();
        for (int i = 0; i < run.batchesPerEpoch(); i++) {
            out.add(batch(run, i, run.batchSize(), run.featureDim(), true));
        }
        return out;
    }

    /** Layer-normalized random features, random logits and images: the sizes are what matter. */
    private static FeatureBatch batch(RunSpec run, int index, int b, int dim, boolean inputs) {
        Random r = new Random(index);
        float[] f = new float[b * dim];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        float[] logits = new float[b * 10];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (3 * r.nextGaussian());
        }
        long[] labels = new long[b];
        long[] ids = new long[b];
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            labels[i] = r.nextInt(10);
            ids[i] = (long) index * b + i;
            seeds[i] = r.nextLong();
        }
        byte[] pixels = new byte[b * 28 * 28];
        r.nextBytes(pixels);
        return new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, run.runId(), 0, index, run.teacherId(),
                run.normalization(), "bench"), Tensor.ofFloats(DType.F16, new int[] {b, dim}, f),
                Tensor.ofFloats(DType.F32, new int[] {b, 10}, logits), labels, ids, seeds,
                inputs ? Tensor.ofUnsignedBytes(new int[] {b, 1, 28, 28}, pixels) : null);
    }

    /** The demo's VkD row with logit KD. */
    private static StudentConfig config(String arch, int replayEpochs) {
        return config(arch, replayEpochs, 1.0, 0.5);
    }

    private static StudentConfig config(String arch, int replayEpochs, double alpha, double gamma) {
        return new StudentConfig(arch, "matrix_exp", "l2", alpha, gamma, 2.0, 0.0, ParameterOptimizer.Kind.ADAMW,
                1e-3, 1e-4, LrSchedule.Kind.CONSTANT, 0, replayEpochs, 3L, "layer");
    }

    private static InputNormalization normalization() {
        return new InputNormalization(new float[] {0.2860f}, new float[] {0.3530f});
    }

    private void createTopic(String topic) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) -1)
                    .configs(TopicAdmin.maxMessageBytes(clients.maxRecordBytes()))), Duration.ofSeconds(60));
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static long[] round(double[] v) {
        return Arrays.stream(v).mapToLong(Math::round).toArray();
    }

    private static String round2(double[] v) {
        return Arrays.toString(Arrays.stream(v).mapToObj(x -> String.format("%.2f", x)).toArray());
    }
}
