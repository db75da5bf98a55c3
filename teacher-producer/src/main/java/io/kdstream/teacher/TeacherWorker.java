package io.kdstream.teacher;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnreleasedInstanceIdException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

/**
 * One teacher instance: claims work items from {@code <run>.work} as a member of the run's teacher
 * group and turns each into feature batches on {@code <run>.features} inside one Kafka
 * transaction, together with the work item's offset (read-process-write, exactly once). A teacher
 * that dies mid-item leaves an aborted transaction and an uncommitted work offset, so another
 * teacher redoes the item and {@code read_committed} students never see a half item or a
 * duplicate (DESIGN.md §1, §6).
 *
 * <p>{@link #run} returns when every work item of the run is committed by some teacher, or after
 * {@link #stop}.
 */
public final class TeacherWorker implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(TeacherWorker.class);

    /** How long a timed-out commit is retried before the teacher gives up. */
    static final Duration COMMIT_PATIENCE = Duration.ofMinutes(10);

    private final KafkaClients clients;
    private final RunSpec spec;
    private final RunTopics topics;
    private final FeatureSource source;
    private final String instanceId;
    private final MeterRegistry registry;
    private final LeadMonitor leadMonitor;
    private final long maxLeadRecords;
    private final Duration transactionTimeout;
    private final Function<Map<String, Object>, Producer<String, byte[]>> producerFactory;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicInteger itemsInProgress = new AtomicInteger();
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean ready;
    // replaced only by the worker thread (see replaceProducer); the watchdog reads it
    private volatile Producer<String, byte[]> producer;
    private KafkaClientMetrics producerMetrics;
    private Map<String, Object> producerConfig;
    private final KafkaOutage outage;
    private int unconnectedChecks; // only the watchdog thread
    private int replacements; // producers replaced since the last commit; only the worker thread
    private long transactionStart; // System.nanoTime() at beginTransaction; only the worker thread
    private static final int MAX_REPLACEMENTS = 3;
    private static final Duration WATCH_INTERVAL = Duration.ofSeconds(5);

    private final Counter batches;
    private final Counter samples;
    private final Counter bytes;
    private final Counter commits;
    private final Counter aborts;
    private final Counter paused;
    private final Counter replaced;
    private final Timer encode;

    private TeacherWorker(Builder b) {
        this.clients = b.clients;
        this.spec = b.spec;
        this.topics = new RunTopics(b.spec.runId());
        this.source = b.source;
        this.instanceId = b.instanceId;
        this.registry = b.registry;
        this.leadMonitor = b.leadMonitor;
        this.maxLeadRecords = b.maxLeadRecords;
        this.transactionTimeout = b.transactionTimeout;
        this.producerFactory = b.producerFactory;
        this.outage = new KafkaOutage(LOG, "teacher " + b.instanceId, System::nanoTime);
        this.batches = Counter.builder("kdstream.teacher.batches").description("Feature batches committed")
                .register(registry);
        this.samples = Counter.builder("kdstream.teacher.samples").description("Samples in committed batches")
                .register(registry);
        this.bytes = Counter.builder("kdstream.teacher.sent").baseUnit("bytes")
                .description("Encoded feature batch bytes sent (committed or not)").register(registry);
        this.commits = Counter.builder("kdstream.teacher.transactions").tag("outcome", "commit")
                .description("Work-item transactions").register(registry);
        this.aborts = Counter.builder("kdstream.teacher.transactions").tag("outcome", "abort")
                .description("Work-item transactions").register(registry);
        this.paused = Counter.builder("kdstream.teacher.paused").baseUnit("seconds")
                .description("Time spent waiting because the lead over the slowest student exceeded the bound")
                .register(registry);
        this.replaced = Counter.builder("kdstream.teacher.producer.replacements")
                .description("Producers replaced because they refused to abort (Kafka's fatal error state)")
                .register(registry);
        this.encode = Timer.builder("kdstream.teacher.encode").description("Safetensors encoding of one batch")
                .publishPercentileHistogram().register(registry);
        registry.gauge("kdstream.teacher.work.items.in.progress", itemsInProgress);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The consumer group all teachers of a run join on {@code <run>.work}. */
    public static String groupId(String runId) {
        return "kdstream-" + runId + "-teachers";
    }

    /** True once the worker joined its group and initialized its transactions. */
    public boolean isReady() {
        return ready;
    }

    /** Asks the worker to stop: the current item's transaction is aborted unless it already committed. */
    public void stop() {
        stopping.set(true);
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /**
     * The work consumer's settings. Under the classic group protocol (Kafka's default) the
     * consumer is a static member, {@code group.instance.id} = {@code teacher-<instance id>}:
     * a teacher restarted with the same {@code --instance-id} (a crashed container, a kill -9)
     * takes its work partitions back at its first join instead of waiting for the dead member's
     * {@code session.timeout.ms} (45 s by default). A {@code group.instance.id} or
     * {@code group.protocol=consumer} from {@code --kafka-config} wins; under the consumer protocol
     * (KIP-848) the teacher sets no instance id, because there a member rejoining with the id of
     * one whose session has not expired is refused ({@code UNRELEASED_INSTANCE_ID}) rather than
     * handed its partitions.
     */
    Map<String, Object> consumerConfig() {
        Map<String, Object> cfg = clients.consumer(groupId(spec.runId()), "teacher-" + instanceId);
        cfg.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        cfg.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 600_000);
        Object protocol = cfg.getOrDefault(ConsumerConfig.GROUP_PROTOCOL_CONFIG, GroupProtocol.CLASSIC.name());
        if (GroupProtocol.CLASSIC.name().equalsIgnoreCase(protocol.toString())) {
            cfg.putIfAbsent(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "teacher-" + instanceId);
        }
        return cfg;
    }

    @Override
    public void run() {
        Map<String, Object> consumerCfg = consumerConfig();
        producerConfig = clients.transactionalProducer("kdstream-" + spec.runId() + "-teacher-" + instanceId);
        producerConfig.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) transactionTimeout.toMillis());
        FeatureBatchSerializer serializer = new FeatureBatchSerializer();
        serializer.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, clients.maxRecordBytes()), false);

        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerCfg);
        // a static member stays in the group when it closes (so that its restart finds its
        // partitions); a teacher that stops for good leaves, so the others take its work at once
        boolean leave = false;
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kdstream-kafka-watchdog");
            t.setDaemon(true);
            return t;
        });
        try (KafkaClientMetrics consumerMetrics = new KafkaClientMetrics(c)) {
            consumerMetrics.bindTo(registry);
            openProducer();
            watchdog.scheduleWithFixedDelay(this::watchConnections, WATCH_INTERVAL.toMillis(),
                    WATCH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
            consumer = c;
            if (stopping.get()) {
                return;
            }
            producer.initTransactions();
            c.subscribe(List.of(topics.work()));
            ready = true;
            LOG.info("teacher {} serving run {} (group {}{})", instanceId, spec.runId(), groupId(spec.runId()),
                    consumerCfg.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                            ? ", static member " + consumerCfg.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG) : "");
            while (!stopping.get()) {
                if (!awaitLeadBelowBound(c)) {
                    break;
                }
                ConsumerRecords<String, byte[]> records = c.poll(Duration.ofMillis(500));
                if (records.isEmpty()) {
                    if (runComplete(c)) {
                        LOG.info("teacher {}: every work item of run {} is committed", instanceId, spec.runId());
                        break;
                    }
                    continue;
                }
                for (ConsumerRecord<String, byte[]> r : records) {
                    process(c, serializer, r);
                }
            }
            leave = true;
        } catch (WakeupException e) {
            if (!stopping.get()) {
                throw e;
            }
            leave = true;
        } catch (RuntimeException e) {
            Throwable fenced = fencedBy(e);
            if (fenced != null && !(e instanceof CommitUnresolved)) {
                throw new InstanceFencedException(instanceId, fenced);
            }
            throw e;
        } finally {
            watchdog.shutdownNow();
            ready = false;
            consumer = null;
            closeProducer(Duration.ofSeconds(10));
            closeConsumer(c, leave);
        }
        LOG.info("teacher {} stopped", instanceId);
    }

    /**
     * While a work item is in progress and the producer has had no connection to any broker for
     * two checks in a row, reports an outage at once: a blocked send or commit only fails after
     * {@code max.block.ms} (60 s), so a shorter outage would otherwise go unexplained.
     */
    private void watchConnections() {
        try {
            Producer<String, byte[]> p = producer;
            if (p == null) {
                return;
            }
            double connections = p.metrics().entrySet().stream()
                    .filter(e -> e.getKey().name().equals("connection-count")
                            && e.getKey().group().equals("producer-metrics"))
                    .mapToDouble(e -> e.getValue().metricValue() instanceof Number n ? n.doubleValue() : 1).sum();
            if (connections == 0 && itemsInProgress.get() > 0) {
                if (++unconnectedChecks >= 2) {
                    outage.failed("publishing (no connection to any broker for "
                            + unconnectedChecks * WATCH_INTERVAL.toSeconds() + " s)",
                            new DisconnectException("the producer has no connection to any broker"));
                }
            } else {
                unconnectedChecks = 0;
            }
        } catch (RuntimeException e) {
            LOG.debug("connection watchdog: {}", e.toString());
        }
    }

    private void openProducer() {
        producer = producerFactory.apply(producerConfig);
        producerMetrics = new KafkaClientMetrics(producer);
        producerMetrics.bindTo(registry);
    }

    private void closeProducer(Duration timeout) {
        Producer<String, byte[]> p = producer;
        producer = null;
        if (producerMetrics != null) {
            producerMetrics.close();
            producerMetrics = null;
        }
        if (p != null) {
            try {
                p.close(timeout);
            } catch (RuntimeException e) {
                LOG.debug("closing the producer: {}", e.toString());
            }
        }
    }

    /**
     * Replaces a producer that refuses to abort (Kafka's fatal error state, e.g. after a retried
     * commit ended in {@code InvalidTxnStateException} once a broker came back from a full disk)
     * with a new one of the same transactional id. Its {@code initTransactions} fences the old
     * producer and completes the open transaction, so afterwards the group's committed offsets say
     * whether the item committed. Waits out an outage meanwhile; gives up after
     * {@value #MAX_REPLACEMENTS} replacements without a commit, because then the cause is not this
     * producer.
     */
    private void replaceProducer(WorkItem item, RuntimeException cause) {
        if (++replacements > MAX_REPLACEMENTS) {
            throw new CommitUnresolved("teacher " + instanceId + " cannot continue: " + MAX_REPLACEMENTS
                    + " new producers in a row refused work item " + item.key() + " (" + cause.getMessage()
                    + "); restart it: uncommitted work is redone", cause);
        }
        LOG.warn("teacher {}: its producer cannot abort work item {} ({}); replacing it with a new producer "
                + "(replacement {} of at most {} without a commit)", instanceId, item.key(), cause.toString(),
                replacements, MAX_REPLACEMENTS);
        replaced.increment();
        closeProducer(Duration.ZERO);
        openProducer();
        long deadline = System.nanoTime() + COMMIT_PATIENCE.toNanos();
        while (true) {
            try {
                producer.initTransactions(); // retrying it after a timeout is allowed
                outage.answered();
                return;
            } catch (KafkaException e) {
                if (!KafkaOutage.isOutage(e) || fencedBy(e) != null || System.nanoTime() > deadline) {
                    throw e;
                }
                if (stopping.get()) {
                    return; // nothing is open on the new producer; run() closes it
                }
                outage.failed("starting a new producer after work item " + item.key(), e);
                pause(outage.backoff());
            }
        }
    }

    /**
     * Where to go on after the item's transaction ended without a known outcome: past the item if
     * its offset commit made it after all, else the item again.
     */
    private long resumeOffset(KafkaConsumer<String, byte[]> c, TopicPartition tp, long itemOffset,
                              WorkItem item) {
        // read_committed: the committed offsets of a completed transaction, never a pending one
        OffsetAndMetadata committed = c.committed(Set.of(tp), clients.timeout()).get(tp);
        if (committed != null && committed.offset() > itemOffset) {
            LOG.info("teacher {}: work item {} had committed after all; going on with the next", instanceId,
                    item.key());
            return committed.offset();
        }
        return itemOffset;
    }

    private static void closeConsumer(KafkaConsumer<String, byte[]> c, boolean leave) {
        try {
            c.close(CloseOptions.groupMembershipOperation(leave ? CloseOptions.GroupMembershipOperation.LEAVE_GROUP
                    : CloseOptions.GroupMembershipOperation.DEFAULT).withTimeout(Duration.ofSeconds(10)));
        } catch (RuntimeException e) {
            LOG.debug("closing the work consumer: {}", e.toString());
        }
    }

    /**
     * The Kafka error that says another live client holds this teacher's identity: its
     * transactional id (a newer producer fenced this one) or its static group membership. Kafka
     * sometimes reports it as the cause of a generic {@link KafkaException}.
     */
    static Throwable fencedBy(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ProducerFencedException || c instanceof FencedInstanceIdException
                    || c instanceof UnreleasedInstanceIdException) {
                return c;
            }
        }
        return null;
    }

    /**
     * True if {@code e} says another live process holds this teacher's identity. A producer fenced
     * while its transaction was open longer than {@code --transaction-timeout} does not count: the
     * broker aborts such a transaction and bumps the producer epoch itself (seen when a broker came
     * back after a long outage), which fences the producer without any twin.
     */
    private boolean fencedByTwin(Throwable e) {
        Throwable fenced = fencedBy(e);
        return fenced != null && !(fenced instanceof ProducerFencedException
                && System.nanoTime() - transactionStart >= transactionTimeout.toNanos());
    }

    private void process(KafkaConsumer<String, byte[]> c, FeatureBatchSerializer serializer,
                         ConsumerRecord<String, byte[]> r) {
        WorkItem item = WorkItem.fromJson(r.value());
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        itemsInProgress.incrementAndGet();
        long committedSamples = 0;
        try {
            producer.beginTransaction();
            transactionStart = System.nanoTime();
            source.prefetch(item.epoch(), item.firstBatch(), item.batchCount());
            for (int i = 0; i < item.batchCount(); i++) {
                if (stopping.get()) {
                    throw new StopRequested();
                }
                FeatureBatch batch = source.batch(item.epoch(), item.firstBatch() + i);
                RecordHeaders headers = new RecordHeaders();
                byte[] value = encode.record(() -> serializer.serialize(topics.features(), headers, batch));
                producer.send(new ProducerRecord<>(topics.features(), null, batch.recordKey(), value, headers));
                bytes.increment(value.length);
                committedSamples += batch.batchSize();
            }
            producer.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)), c.groupMetadata());
            commit(item); // throws if any send of the item failed
            replacements = 0;
            outage.answered();
            countCommitted(item, committedSamples);
            LOG.debug("teacher {} committed work item {}", instanceId, item.key());
        } catch (AuthorizationException e) {
            // this principal lacks an ACL: no producer can do better
            throw new IllegalStateException("teacher " + instanceId + " cannot continue: " + e.getMessage(), e);
        } catch (StopRequested | WakeupException e) {
            abortQuietly();
            LOG.info("teacher {} stopping: aborted work item {}; another teacher will redo it", instanceId, item.key());
            stopping.set(true);
        } catch (RecordTooLargeException e) {
            abortQuietly();
            throw e; // a configuration error: redoing the item cannot help
        } catch (KafkaException | IllegalStateException e) {
            if (fencedByTwin(e)) {
                throw e; // another process has this teacher's identity: redoing the item cannot help
            }
            boolean unreachable = KafkaOutage.isOutage(e);
            if (unreachable) {
                // a broker down, restarting or halted on a full disk: nothing of the item is
                // committed, so it is redone once Kafka answers; say so once, not per call
                outage.failed("publishing work item " + item.key(), e);
            } else {
                LOG.warn("teacher {}: work item {} failed and will be retried: {}", instanceId, item.key(),
                        e.toString());
            }
            boolean aborted = abort(item);
            // after a rebalance the item's partition may belong to another teacher, which redoes it
            // from the committed offset; seeking an unassigned partition would throw and end this one
            if (c.assignment().contains(tp)) {
                long next = aborted || stopping.get() ? r.offset() : resumeOffset(c, tp, r.offset(), item);
                if (next > r.offset()) {
                    replacements = 0;
                    countCommitted(item, committedSamples);
                }
                c.seek(tp, next);
            }
            if (unreachable) {
                pause(outage.backoff());
            }
        } finally {
            itemsInProgress.decrementAndGet();
        }
    }

    private void countCommitted(WorkItem item, long committedSamples) {
        commits.increment();
        batches.increment(item.batchCount());
        samples.increment(committedSamples);
    }

    /**
     * Commits, retrying a commit that timed out (a broker restarting or slow to come back): Kafka
     * refuses to abort such a transaction, a timed-out commit must be retried. Gives up, ending
     * the teacher with a clear error, after {@link #COMMIT_PATIENCE}.
     */
    private void commit(WorkItem item) {
        long deadline = System.nanoTime() + COMMIT_PATIENCE.toNanos();
        for (int attempt = 1; ; attempt++) {
            try {
                producer.commitTransaction();
                if (attempt > 1) {
                    LOG.info("teacher {}: work item {} committed on attempt {}", instanceId, item.key(), attempt);
                }
                return;
            } catch (TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw new CommitUnresolved("teacher " + instanceId + ": committing work item " + item.key()
                            + " timed out for " + COMMIT_PATIENCE.toMinutes() + " min (" + attempt
                            + " attempts); is the broker reachable? " + e.getMessage(), e);
                }
                LOG.warn("teacher {}: commit of work item {} timed out (attempt {}), retrying: {}", instanceId,
                        item.key(), attempt, e.getMessage());
            }
        }
    }

    /**
     * Aborts the item's transaction, retrying an abort that timed out (Kafka then refuses every
     * other call until the abort is retried) for up to {@link #COMMIT_PATIENCE}, with backoff.
     * Given up when the teacher is stopping: the broker aborts the transaction after
     * {@code --transaction-timeout}. A producer that refuses to abort for another reason is
     * replaced.
     *
     * @return true if the transaction is aborted, false if its outcome is left to the broker (the
     *         producer was replaced, or the teacher is stopping)
     */
    private boolean abort(WorkItem item) {
        long deadline = System.nanoTime() + COMMIT_PATIENCE.toNanos();
        while (true) {
            try {
                producer.abortTransaction();
                aborts.increment();
                return true;
            } catch (KafkaException | IllegalStateException e) {
                if (stopping.get()) {
                    LOG.warn("abortTransaction failed: {}", e.toString());
                    return false;
                }
                if (!KafkaOutage.isOutage(e)) {
                    if (fencedByTwin(e)) {
                        throw e;
                    }
                    // a producer in Kafka's fatal error state refuses every transactional call:
                    // redoing the item with it would spin
                    replaceProducer(item, e);
                    return false;
                }
                if (System.nanoTime() > deadline) {
                    throw new CommitUnresolved("teacher " + instanceId + ": aborting work item " + item.key()
                            + " timed out for " + COMMIT_PATIENCE.toMinutes() + " min; is the broker reachable? "
                            + e.getMessage(), e);
                }
                outage.failed("aborting work item " + item.key(), e);
                pause(outage.backoff());
            }
        }
    }

    /** Waits {@code d}, or less if the teacher is asked to stop. */
    private void pause(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        try {
            while (!stopping.get() && System.nanoTime() < until) {
                Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping.set(true);
        }
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
            aborts.increment();
        } catch (KafkaException | IllegalStateException e) {
            LOG.warn("abortTransaction failed: {}", e.toString());
        }
    }

    /** Pauses the work partitions while the lead is over the bound; false when asked to stop meanwhile. */
    private boolean awaitLeadBelowBound(KafkaConsumer<String, byte[]> c) {
        if (leadMonitor == null) {
            return true;
        }
        boolean wasPaused = false;
        long last = System.nanoTime();
        try {
            while (!stopping.get()) {
                OptionalLong lead = leadMonitor.lead();
                if (lead.isEmpty() || lead.getAsLong() <= maxLeadRecords) {
                    break;
                }
                if (!wasPaused) {
                    LOG.info("teacher {} pausing: lead {} records > bound {}", instanceId, lead.getAsLong(),
                            maxLeadRecords);
                    wasPaused = true;
                }
                // keep polling with partitions paused so the group does not consider this member dead
                c.pause(c.assignment());
                c.poll(Duration.ofMillis(500));
                long now = System.nanoTime();
                paused.increment((now - last) / 1e9); // counted while paused, so a long pause shows up live
                last = now;
            }
        } catch (WakeupException e) {
            throw e;
        } catch (Exception e) {
            if (io.kdstream.kafka.KafkaAccessErrors.describe(e).isPresent()) {
                // e.g. no Describe ACL on a --student-groups group: waiting cannot fix it, and
                // going on would publish without flow control and warn at every work item
                throw new IllegalStateException("teacher " + instanceId + " cannot measure its lead over the "
                        + "student groups", e);
            }
            if (KafkaOutage.isOutage(e)) {
                outage.failed("measuring the lead over the student groups (not pausing meanwhile)", e);
            } else {
                LOG.warn("cannot measure the lead over students, not pausing: {}", e.toString());
            }
        } finally {
            c.resume(c.paused());
        }
        return !stopping.get();
    }

    /** True when no committed work item lies at or after this group's committed offsets. */
    private boolean runComplete(KafkaConsumer<String, byte[]> c) {
        try {
            boolean done = !anyWorkLeft(c);
            outage.answered();
            return done;
        } catch (RuntimeException e) {
            boolean readTimedOut = e instanceof IllegalStateException
                    && String.valueOf(e.getMessage()).startsWith("timed out reading");
            if (!KafkaOutage.isOutage(e) && !readTimedOut) {
                throw e;
            }
            // an idle teacher whose broker is down: keep waiting instead of ending with exit 1
            outage.failed("checking whether the run is complete", e);
            pause(outage.backoff());
            return false;
        }
    }

    private boolean anyWorkLeft(KafkaConsumer<String, byte[]> c) {
        List<TopicPartition> parts = c.partitionsFor(topics.work()).stream()
                .map(p -> new TopicPartition(topics.work(), p.partition())).toList();
        Map<TopicPartition, Long> from = new HashMap<>();
        c.committed(Set.copyOf(parts)).forEach((tp, om) -> {
            if (om != null) {
                from.put(tp, om.offset());
            }
        });
        return WorkPlanner.anyCommittedRecord(clients, topics.work(), from, clients.timeout(), stopping::get);
    }

    /**
     * Another live teacher process uses the same {@code --instance-id}: it took this one's
     * transactional id or static group membership, so this one cannot publish or commit any more.
     * The newer process carries on; this one ends ({@link TeacherCommand} exits
     * {@value TeacherCommand#EXIT_FENCED}).
     */
    public static final class InstanceFencedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InstanceFencedException(String instanceId, Throwable cause) {
            super("another teacher process took over --instance-id " + instanceId + " ("
                    + cause.getClass().getSimpleName() + ": " + cause.getMessage()
                    + "); every live teacher needs its own --instance-id", cause);
        }
    }

    /** A commit that kept timing out: the producer can neither commit nor abort, so the teacher ends. */
    private static final class CommitUnresolved extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CommitUnresolved(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Thrown inside an item when {@link #stop} was called. */
    private static final class StopRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StopRequested() {
            super(null, null, false, false);
        }
    }

    /** Builder in the DJL style: required settings first, then {@code optXxx}. */
    public static final class Builder {
        private KafkaClients clients;
        private RunSpec spec;
        private FeatureSource source;
        private String instanceId = "teacher-0";
        private MeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        private LeadMonitor leadMonitor;
        private long maxLeadRecords = Long.MAX_VALUE;
        private Duration transactionTimeout = Duration.ofMinutes(1);
        private Function<Map<String, Object>, Producer<String, byte[]>> producerFactory = KafkaProducer::new;

        public Builder setClients(KafkaClients clients) {
            this.clients = clients;
            return this;
        }

        public Builder setRunSpec(RunSpec spec) {
            this.spec = spec;
            return this;
        }

        public Builder setSource(FeatureSource source) {
            this.source = source;
            return this;
        }

        /** Stable per teacher instance: a restarted instance fences its predecessor's transactions. */
        public Builder optInstanceId(String instanceId) {
            this.instanceId = instanceId;
            return this;
        }

        public Builder optRegistry(MeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        /** Flow control: pause while the lead over the slowest student group exceeds {@code maxLeadRecords}. */
        public Builder optFlowControl(LeadMonitor monitor, long maxLeadRecords) {
            this.leadMonitor = monitor;
            this.maxLeadRecords = maxLeadRecords;
            return this;
        }

        /** How long an open transaction of a dead teacher blocks students before the broker aborts it. */
        public Builder optTransactionTimeout(Duration timeout) {
            this.transactionTimeout = timeout;
            return this;
        }

        /** Where the transactional producers come from (tests wrap them to inject faults). */
        Builder optProducerFactory(Function<Map<String, Object>, Producer<String, byte[]>> factory) {
            this.producerFactory = factory;
            return this;
        }

        public TeacherWorker build() {
            if (clients == null || spec == null || source == null) {
                throw new IllegalStateException("clients, run spec and batch source are required");
            }
            return new TeacherWorker(this);
        }
    }
}
