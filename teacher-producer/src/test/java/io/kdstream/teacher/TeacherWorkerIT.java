package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.ManifestMismatchException;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.kdstream.vkd.Normalization;

@ExtendWith(KafkaExtension.class)
class TeacherWorkerIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    private static RunSpec spec(String run, int epochs, int batchesPerEpoch) {
        return RunSpec.builder().setRunId(run).setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher("teacher-hash", "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                .optInputMode(InputMode.REFERENCE)
                .setStream(4, batchesPerEpoch, epochs, 1L).build();
    }

    @Test
    void oneTeacherPublishesEveryPlannedBatchExactlyOnce(TestKafka kafka) throws Exception {
        RunSpec spec = spec("one-" + UUID.randomUUID(), 2, 5);
        KafkaClients clients = kafka.clients();
        RunSetup.prepare(clients, spec, new RunSetup.Settings(2, 3, 2, (short) -1, TIMEOUT));
        // a second teacher starting the same run neither re-plans nor is refused
        RunSetup.prepare(clients, spec, new RunSetup.Settings(2, 3, 2, (short) -1, TIMEOUT));

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TeacherWorker worker = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                .setSource(new SyntheticSource(spec, "t1")).optInstanceId("t1-" + spec.runId())
                .optRegistry(registry).build();
        runToCompletion(worker);

        Map<String, FeatureBatch> got = readAll(clients, spec, 10);
        assertThat(got.keySet()).containsExactlyInAnyOrder("0/0", "0/1", "0/2", "0/3", "0/4",
                "1/0", "1/1", "1/2", "1/3", "1/4");
        for (FeatureBatch b : got.values()) {
            assertThat(b.teacherFeatures().toFloats()).containsExactly(
                    SyntheticSource.features(spec, b.metadata().epoch(), b.metadata().batchIndex()));
        }
        // 2 epochs x 5 batches in items of 2 = 6 transactions
        assertThat(registry.get("kdstream.teacher.transactions").tag("outcome", "commit").functionCounter().count())
                .isEqualTo(6);
        assertThat(registry.get("kdstream.teacher.batches").functionCounter().count()).isEqualTo(10);
        assertThat(registry.get("kdstream.teacher.samples").functionCounter().count()).isEqualTo(40);
    }

    @Test
    void twoTeachersSplitTheWorkAndACrashMidItemLosesAndDuplicatesNothing(TestKafka kafka) throws Exception {
        RunSpec spec = spec("two-" + UUID.randomUUID(), 2, 8);
        KafkaClients clients = kafka.clients();
        RunSetup.prepare(clients, spec, new RunSetup.Settings(2, 4, 2, (short) -1, TIMEOUT));

        // A dies in the middle of its second item's forward, while its publisher commits the first.
        AtomicInteger aCalls = new AtomicInteger();
        TeacherWorker a = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                .setSource(new SyntheticSource(spec, "A", call -> aCalls.incrementAndGet() == 4))
                .optInstanceId("A-" + spec.runId())
                .optTransactionTimeout(Duration.ofSeconds(5)).build();
        SimpleMeterRegistry bRegistry = new SimpleMeterRegistry();
        TeacherWorker b = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                .setSource(new SyntheticSource(spec, "B")).optInstanceId("B-" + spec.runId())
                .optRegistry(bRegistry).build();

        AtomicReference<Throwable> aDied = new AtomicReference<>();
        Thread ta = new Thread(a, "teacher-A");
        ta.setUncaughtExceptionHandler((t, e) -> aDied.set(e));
        ta.start();
        // B starts once A works on its first item: "ready" alone means joined, not yet assigned,
        // and on a loaded machine B could otherwise finish the whole run before A gets an item
        await().atMost(TIMEOUT).until(() -> aCalls.get() >= 1);
        Thread tb = new Thread(b, "teacher-B");
        tb.start();
        ta.join(TIMEOUT.toMillis());
        tb.join(TIMEOUT.toMillis());
        assertThat(tb.isAlive()).as("teacher B finishes the run").isFalse();
        assertThat(aDied.get()).isInstanceOf(SyntheticSource.SimulatedCrash.class);

        Map<String, FeatureBatch> got = readAll(clients, spec, 16);
        assertThat(got).hasSize(16);
        Set<String> producers = new java.util.HashSet<>();
        got.values().forEach(f -> producers.add(f.metadata().producerId()));
        assertThat(producers).as("the work was split between both teachers").containsExactlyInAnyOrder("A", "B");
        assertThat(bRegistry.get("kdstream.teacher.transactions").tag("outcome", "commit").functionCounter().count())
                .isLessThan(8);
    }

    @Test
    void aProducerInKafkasFatalStateIsReplacedAndTheLostCommitRedone(TestKafka kafka) throws Exception {
        assertFatalProducerIsReplaced(kafka, false, () -> new InvalidTxnStateException("injected"), Duration.ZERO,
                Duration.ofMinutes(1));
    }

    @Test
    void aProducerInKafkasFatalStateIsReplacedAndACommitThatLandedIsNotRedone(TestKafka kafka) throws Exception {
        assertFatalProducerIsReplaced(kafka, true, () -> new InvalidTxnStateException("injected"), Duration.ZERO,
                Duration.ofMinutes(1));
    }

    /** The broker aborted a transaction that outlived its timeout and bumped the epoch: no twin, no exit 5. */
    @Test
    void aProducerFencedAfterItsTransactionTimedOutIsReplaced(TestKafka kafka) throws Exception {
        // the commit fails after the transaction has been open longer than its timeout
        assertFatalProducerIsReplaced(kafka, false, () -> new ProducerFencedException("injected"),
                Duration.ofSeconds(2), Duration.ofSeconds(2));
    }

    /**
     * The first producer's first commit fails as after a broker came back from a full disk: the
     * commit ends in {@code InvalidTxnStateException} (having reached the broker or not) and the
     * producer refuses every transactional call after it. The teacher must neither spin nor stop:
     * it replaces the producer and goes on, redoing the item only if its commit was lost.
     *
     * @param openFor how long the first transaction has been open when its commit fails
     */
    private static void assertFatalProducerIsReplaced(TestKafka kafka, boolean commitLands,
                                                      Supplier<KafkaException> error, Duration openFor,
                                                      Duration transactionTimeout) throws Exception {
        RunSpec spec = spec("fatal-" + commitLands + "-" + UUID.randomUUID(), 2, 5);
        KafkaClients clients = kafka.clients();
        RunSetup.prepare(clients, spec, new RunSetup.Settings(2, 3, 2, (short) -1, TIMEOUT));
        AtomicInteger producers = new AtomicInteger();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TeacherWorker worker = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                .setSource(new SyntheticSource(spec, "t")).optInstanceId("fatal-" + spec.runId())
                .optRegistry(registry).optTransactionTimeout(transactionTimeout)
                .optProducerFactory(firstBreaksAtFirstCommit(commitLands, error, openFor, producers))
                .build();
        runToCompletion(worker);

        List<String> keys = TestTopics.readToEnd(clients, new RunTopics(spec.runId()).features()).stream()
                .map(ConsumerRecord::key).toList();
        assertThat(keys).as("each batch exactly once").doesNotHaveDuplicates().containsExactlyInAnyOrder(
                "0/0", "0/1", "0/2", "0/3", "0/4", "1/0", "1/1", "1/2", "1/3", "1/4");
        assertThat(producers.get()).as("producers made").isEqualTo(2);
        assertThat(registry.get("kdstream.teacher.producer.replacements").functionCounter().count()).isEqualTo(1);
        assertThat(registry.get("kdstream.teacher.transactions").tag("outcome", "commit").functionCounter().count())
                .isEqualTo(6);
        assertThat(registry.get("kdstream.teacher.batches").functionCounter().count()).isEqualTo(10);
    }

    /**
     * Producers as usual, except that the first one's first commit fails with {@code error}, after
     * its transaction has been open for {@code openFor} (a slow broker), and every transactional call
     * after it fails too.
     */
    private static Function<Map<String, Object>, Producer<String, byte[]>> firstBreaksAtFirstCommit(
            boolean commitLands, Supplier<KafkaException> error, Duration openFor, AtomicInteger made) {
        return cfg -> {
            KafkaProducer<String, byte[]> real = new KafkaProducer<>(cfg);
            if (made.incrementAndGet() > 1) {
                return real;
            }
            AtomicInteger commits = new AtomicInteger();
            AtomicBoolean fatal = new AtomicBoolean();
            AtomicLong begun = new AtomicLong();
            Set<String> transactional = Set.of("beginTransaction", "send", "sendOffsetsToTransaction",
                    "commitTransaction", "abortTransaction");
            @SuppressWarnings("unchecked")
            Producer<String, byte[]> broken = (Producer<String, byte[]>) Proxy.newProxyInstance(
                    Producer.class.getClassLoader(), new Class<?>[] {Producer.class}, (proxy, method, args) -> {
                        if (fatal.get() && transactional.contains(method.getName())) {
                            throw new KafkaException("injected: the producer is in a fatal error state");
                        }
                        if (method.getName().equals("beginTransaction")) {
                            begun.set(System.nanoTime());
                        }
                        if (method.getName().equals("commitTransaction") && commits.incrementAndGet() == 1) {
                            long late = begun.get() + openFor.toNanos() - System.nanoTime();
                            if (late > 0) {
                                TimeUnit.NANOSECONDS.sleep(late + 100_000_000L);
                            }
                            if (commitLands) {
                                real.commitTransaction();
                            }
                            fatal.set(true);
                            throw error.get();
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            return broken;
        };
    }

    @Test
    void plannersFencedByRestartingTeachersStillPlanTheRunExactlyOnce(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 4; round++) {
                RunSpec spec = spec("plan-" + UUID.randomUUID(), 3, 10);
                String work = new RunTopics(spec.runId()).work();
                TestTopics.create(clients, work, 3);
                List<Future<Boolean>> planners = List.of(
                        pool.submit(() -> WorkPlanner.planOnce(clients, spec, 1, TIMEOUT)),
                        pool.submit(() -> WorkPlanner.planOnce(clients, spec, 1, TIMEOUT)));
                // teachers (re)starting meanwhile: each takes the planner's transactional id, fencing
                // whoever plans, and some die mid-plan, leaving an open transaction with one item in it
                for (int k = 0; k < 3; k++) {
                    Thread.sleep(random.nextInt(300));
                    try (KafkaProducer<String, byte[]> zombie = new KafkaProducer<>(
                            clients.transactionalProducer("kdstream-" + spec.runId() + "-planner"))) {
                        zombie.initTransactions();
                        if (random.nextBoolean()) {
                            zombie.beginTransaction();
                            zombie.send(new ProducerRecord<>(work, 0, "zombie", new byte[1])).get();
                            zombie.close(Duration.ZERO);
                        }
                    } catch (ExecutionException | KafkaException e) {
                        // a zombie fenced by a planner is fine too
                    }
                }
                int wrote = 0;
                for (Future<Boolean> planner : planners) {
                    wrote += planner.get(2 * TIMEOUT.toSeconds(), TimeUnit.SECONDS) ? 1 : 0; // throws if a planner failed
                }
                assertThat(wrote).as("exactly one planner committed the plan (seed %d, round %d)", seed, round)
                        .isEqualTo(1);
                List<String> keys = TestTopics.readToEnd(clients, work).stream().map(ConsumerRecord::key).toList();
                assertThat(keys).as("committed work items (seed %d, round %d)", seed, round)
                        .doesNotHaveDuplicates().hasSize(30).doesNotContain("zombie");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void teacherPausesWhileItsLeadOverAStudentGroupExceedsTheBound(TestKafka kafka) throws Exception {
        RunSpec spec = spec("lead-" + UUID.randomUUID(), 1, 12);
        KafkaClients clients = kafka.clients();
        RunSetup.prepare(clients, spec, new RunSetup.Settings(1, 1, 2, (short) -1, TIMEOUT));
        String group = "student-slow";
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Admin admin = Admin.create(clients.admin())) {
            LeadMonitor monitor = new LeadMonitor(admin, new RunTopics(spec.runId()).features(), List.of(group),
                    true, Set.of(TeacherWorker.groupId(spec.runId())), TIMEOUT);
            TeacherWorker worker = TeacherWorker.builder().setClients(clients).setRunSpec(spec)
                    .setSource(new SyntheticSource(spec, "t")).optInstanceId("lead-" + spec.runId())
                    .optRegistry(registry).optFlowControl(monitor, 4).build();
            Thread t = new Thread(worker, "teacher-lead");
            t.start();
            // Bound 4 records: after two items (4 batches + 2 markers) the teacher must wait.
            await().atMost(TIMEOUT).until(() -> registry.get("kdstream.teacher.batches").functionCounter().count() >= 4
                    && registry.get("kdstream.teacher.work.items.in.progress").gauge().value() == 0);
            long before = endOffset(clients, spec);
            await().atMost(TIMEOUT).until(() -> monitor.lead().orElse(0) > 4);
            // not one instant: the end offset stays put for 3 s, several of the teacher's lead checks
            await().pollInterval(Duration.ofMillis(500)).during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                    .until(() -> endOffset(clients, spec) == before);
            assertThat(registry.get("kdstream.teacher.batches").functionCounter().count()).isLessThanOrEqualTo(6);

            // The student catches up by committing its position: the teacher resumes and finishes.
            try (KafkaConsumer<String, byte[]> student = new KafkaConsumer<>(clients.consumer(group, "slow"))) {
                TopicPartition tp = new TopicPartition(new RunTopics(spec.runId()).features(), 0);
                await().pollInSameThread().atMost(TIMEOUT).until(() -> {
                    student.commitSync(Map.of(tp, new OffsetAndMetadata(endOffset(clients, spec))));
                    t.join(200);
                    return !t.isAlive();
                });
            } finally {
                worker.stop();
                t.join(TIMEOUT.toMillis());
            }
            assertThat(registry.get("kdstream.teacher.batches").functionCounter().count()).isEqualTo(12);
            assertThat(registry.get("kdstream.teacher.paused").functionCounter().count()).isGreaterThan(0);
        }
    }

    @Test
    void aTeacherWithADifferentConfigurationIsRefusedNamingTheField(TestKafka kafka) {
        RunSpec spec = spec("mismatch-" + UUID.randomUUID(), 1, 2);
        RunSetup.prepare(kafka.clients(), spec, RunSetup.Settings.defaults());
        RunSpec other = RunSpec.builder().optSchemaVersion(spec.schemaVersion()).setRunId(spec.runId())
                .setSource(spec.datasetId(), spec.numClasses(), spec.inputShape())
                .setTeacher(spec.teacherId(), spec.featureLayer())
                .setFeatures(spec.featureDim(), Normalization.WHITEN, spec.featureDtype())
                .optLogitClasses(spec.logitClasses()).optInputMode(spec.inputMode())
                .optAugmentation(spec.augmentation())
                .setStream(spec.batchSize(), spec.batchesPerEpoch(), spec.epochs(), spec.seed()).build();
        assertThatThrownBy(() -> RunSetup.prepare(kafka.clients(), other, RunSetup.Settings.defaults()))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("normalization: manifest has layer, configured whiten");
    }

    private static void runToCompletion(TeacherWorker worker) throws InterruptedException {
        Thread t = new Thread(worker, "teacher");
        t.start();
        t.join(TIMEOUT.toMillis());
        assertThat(t.isAlive()).as("teacher finished the run in time").isFalse();
    }

    private static long endOffset(KafkaClients clients, RunSpec spec) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "end"))) {
            TopicPartition tp = new TopicPartition(new RunTopics(spec.runId()).features(), 0);
            return c.endOffsets(List.of(tp)).get(tp);
        }
    }

    /** All committed batches, failing on any duplicate key. */
    static Map<String, FeatureBatch> readAll(KafkaClients clients, RunSpec spec, int expected) {
        List<ConsumerRecord<String, byte[]>> records = TestTopics.readFromStart(clients,
                new RunTopics(spec.runId()).features(), "read_committed", expected);
        List<String> keys = records.stream().map(ConsumerRecord::key).toList();
        assertThat(keys).as("each batch exactly once").doesNotHaveDuplicates().hasSize(expected);
        Map<String, FeatureBatch> out = new HashMap<>();
        records.forEach(r -> out.put(r.key(), FeatureBatch.decode(r.value())));
        return out;
    }
}
