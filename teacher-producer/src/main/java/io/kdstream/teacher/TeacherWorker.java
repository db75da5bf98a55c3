package io.kdstream.teacher;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.UnreleasedInstanceIdException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.KafkaOutage;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.ReadTimeoutException;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

/**
 * One teacher instance: claims work items from {@code <run>.work} as a member of the run's teacher
 * group and turns each into feature batches on {@code <run>.features} inside one Kafka
 * transaction, together with the work item's offset (read-process-write, exactly once). A teacher
 * that dies mid-item leaves an aborted transaction and an uncommitted work offset, so another
 * teacher redoes the item and {@code read_committed} students never see a half item or a
 * duplicate (DESIGN.md §1, §6).
 *
 * <p>This class is the poll/process loop. The transaction's life (commit, abort, producer
 * replacement, telling a twin from a timed-out transaction) is {@link TransactionalPublisher}'s;
 * waiting out a Kafka outage is {@link KafkaOutage}'s; pausing for slow students is
 * {@link FlowControl}'s; whether the run is complete is {@link WorkPlanner}'s; the meters are
 * {@link TeacherMetrics}.
 *
 * <p>{@link #run} returns when every work item of the run is committed by some teacher, or after
 * {@link #stop}.
 */
public final class TeacherWorker implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(TeacherWorker.class);

    /** Computed work items that wait for the publisher: one, so the forward runs one item ahead of the commit. */
    static final int PIPELINE_DEPTH = 1;

    /** Longest time between two polls of the work consumer (a work item's forward must fit). */
    static final int MAX_POLL_INTERVAL_MS = 600_000;

    private final KafkaClients clients;
    private final RunSpec spec;
    private final RunTopics topics;
    private final FeatureSource source;
    private final String instanceId;
    private final MeterRegistry registry;
    private final TeacherMetrics metrics;
    private final LeadMonitor leadMonitor;
    private final long maxLeadRecords;
    private final Duration transactionTimeout;
    private final Function<Map<String, Object>, Producer<String, byte[]>> producerFactory;
    private final KafkaOutage outage;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean ready;

    private TeacherWorker(Builder b) {
        this.clients = b.clients;
        this.spec = b.spec;
        this.topics = new RunTopics(b.spec.runId());
        this.source = b.source;
        this.instanceId = b.instanceId;
        this.registry = b.registry;
        if (b.metrics != null) {
            this.metrics = b.metrics;
        } else {
            this.metrics = new TeacherMetrics();
            metrics.bindTo(registry);
        }
        this.leadMonitor = b.leadMonitor;
        this.maxLeadRecords = b.maxLeadRecords;
        this.transactionTimeout = b.transactionTimeout;
        this.producerFactory = b.producerFactory;
        this.outage = new KafkaOutage(LOG, "teacher " + b.instanceId, System::nanoTime);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The consumer group all teachers of a run join on {@code <run>.work}. */
    public static String groupId(String runId) {
        return new RunTopics(runId).teacherGroup();
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
        cfg.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, MAX_POLL_INTERVAL_MS);
        // an idle connection must outlive a poll interval, or the coordinator's may be closed in the
        // middle of a rebalance (Kafka warns about exactly that with its 540 s default)
        cfg.putIfAbsent(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, MAX_POLL_INTERVAL_MS + 60_000);
        Object protocol = cfg.getOrDefault(ConsumerConfig.GROUP_PROTOCOL_CONFIG, GroupProtocol.CLASSIC.name());
        if (GroupProtocol.CLASSIC.name().equalsIgnoreCase(protocol.toString())) {
            cfg.putIfAbsent(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "teacher-" + instanceId);
        }
        return cfg;
    }

    private TransactionalPublisher newPublisher() {
        Map<String, Object> producerConfig = clients.transactionalProducer("kdstream-" + spec.runId() + "-teacher-"
                + instanceId);
        producerConfig.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) transactionTimeout.toMillis());
        FeatureBatchSerializer serializer = new FeatureBatchSerializer();
        serializer.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, clients.maxRecordBytes()), false);
        return new TransactionalPublisher(new TransactionalPublisher.Settings(instanceId, topics.features(),
                producerConfig, serializer, transactionTimeout), producerFactory, registry, metrics, outage, stopping::get);
    }

    /**
     * Joins the run's teachers, then takes work items and runs the teacher forward on them, handing
     * each computed item to the publisher thread ({@link PublishLoop}), until the run is complete
     * or {@link #stop}.
     */
    @Override
    public void run() {
        Map<String, Object> consumerCfg = consumerConfig();
        FlowControl flow = leadMonitor == null ? null
                : new FlowControl(leadMonitor, maxLeadRecords, instanceId, metrics, outage);
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerCfg);
        // a static member stays in the group when it closes (so that its restart finds its
        // partitions); a teacher that stops for good leaves, so the others take its work at once
        boolean leave = false;
        try (KafkaClientMetrics consumerMetrics = new KafkaClientMetrics(c);
             PublishLoop lane = new PublishLoop(newPublisher(), PIPELINE_DEPTH, instanceId, metrics, outage,
                     stopping::get)) {
            consumerMetrics.bindTo(registry);
            consumer = c;
            if (stopping.get()) {
                return;
            }
            lane.initTransactions();
            InFlight inFlight = new InFlight(c, lane);
            c.subscribe(List.of(topics.work()), inFlight);
            ready = true;
            LOG.info("teacher {} serving run {} (group {}{})", instanceId, spec.runId(), groupId(spec.runId()),
                    consumerCfg.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                            ? ", static member " + consumerCfg.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG) : "");
            while (!stopping.get()) {
                if (!inFlight.settle(Duration.ZERO)) {
                    inFlight.settle(Duration.ofMillis(100)); // a failed item: wait for the items after it
                    continue;
                }
                if (flow != null && !flow.awaitLeadWithinBound(c, stopping::get, lane::pendingRecords)) {
                    break;
                }
                // with items at the publisher, short waits on the consumer and on the publisher in
                // turn: the end of a pass waits for the last commit, not for a poll timeout, and
                // new work is still taken within 100 ms
                ConsumerRecords<String, byte[]> records = c.poll(Duration.ofMillis(inFlight.isEmpty() ? 500 : 50));
                if (records.isEmpty()) {
                    if (!inFlight.isEmpty() && !inFlight.settle(Duration.ofMillis(50))) {
                        continue; // a failed item: redone from the top of the loop
                    }
                    if (inFlight.isEmpty() && runComplete(c)) {
                        LOG.info("teacher {}: every work item of run {} is committed", instanceId, spec.runId());
                        break;
                    }
                    continue;
                }
                for (ConsumerRecord<String, byte[]> r : records) {
                    PublishLoop.Job job = inFlight.failed() ? null : compute(c, r);
                    if (job == null || !lane.submit(job)) {
                        inFlight.redo(r); // not handed over: done again after the rewind
                        continue;
                    }
                    inFlight.add(job);
                    if (flow != null) {
                        flow.handedOver(job.item());
                    }
                }
            }
            leave = true;
        } catch (WakeupException e) {
            if (!stopping.get()) {
                throw e;
            }
            leave = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            leave = true;
        } catch (KafkaException e) {
            // the work consumer's static membership: another live teacher joined with this
            // --instance-id (the publisher tells a fenced producer apart itself)
            Throwable fenced = TransactionalPublisher.fencedBy(e);
            if (fenced instanceof FencedInstanceIdException || fenced instanceof UnreleasedInstanceIdException) {
                throw new InstanceFencedException(instanceId, fenced);
            }
            throw e;
        } finally {
            ready = false;
            consumer = null;
            closeConsumer(c, leave);
        }
        LOG.info("teacher {} stopped", instanceId);
    }

    /** The teacher forward for one work item, on this thread; null if the teacher is asked to stop meanwhile. */
    private PublishLoop.Job compute(KafkaConsumer<String, byte[]> c, ConsumerRecord<String, byte[]> r) {
        WorkItem item = WorkItem.fromJson(r.value());
        source.prefetch(item.epoch(), item.firstBatch(), item.batchCount());
        List<FeatureBatch> batches = new ArrayList<>(item.batchCount());
        for (int i = 0; i < item.batchCount(); i++) {
            if (stopping.get()) {
                return null;
            }
            batches.add(source.batch(item.epoch(), item.firstBatch() + i));
        }
        return new PublishLoop.Job(item, new TopicPartition(r.topic(), r.partition()), r.offset(), c.groupMetadata(),
                batches);
    }

    /**
     * The work items handed to the publisher whose outcome this thread has not seen yet, and what
     * a failure leaves to redo. After a failure every later item is skipped by the publisher; once
     * all their outcomes are in, each partition is sought back to its first item not committed
     * (past it if an item of unknown outcome turns out committed), and publishing resumes.
     * Before partitions are revoked, the items in flight are waited for, so that a rebalance finds
     * nothing half done.
     */
    private final class InFlight implements ConsumerRebalanceListener {
        private final KafkaConsumer<String, byte[]> consumer;
        private final PublishLoop lane;
        private final Deque<PublishLoop.Job> jobs = new ArrayDeque<>();
        private final Map<TopicPartition, Redo> redo = new HashMap<>();
        private boolean backOff;

        /** Where a partition starts again; {@code unknown} is the job there if its commit's outcome is unknown. */
        private record Redo(long offset, PublishLoop.Job unknown) {
        }

        InFlight(KafkaConsumer<String, byte[]> consumer, PublishLoop lane) {
            this.consumer = consumer;
            this.lane = lane;
        }

        void add(PublishLoop.Job job) {
            jobs.add(job);
        }

        boolean isEmpty() {
            return jobs.isEmpty();
        }

        boolean failed() {
            return !redo.isEmpty();
        }

        /** A polled item that was not handed over (stopping, or after a failure): it is done again. */
        void redo(ConsumerRecord<String, byte[]> r) {
            redoFrom(new TopicPartition(r.topic(), r.partition()), r.offset(), null);
        }

        private void redoFrom(TopicPartition tp, long offset, PublishLoop.Job unknown) {
            redo.merge(tp, new Redo(offset, unknown), (a, b) -> a.offset() <= b.offset() ? a : b);
        }

        /**
         * Takes the outcomes that are in, waiting up to {@code wait} for one; once a failure's
         * items are all in, rewinds and resumes the publisher.
         *
         * @return true if nothing failed is waiting to be redone
         */
        boolean settle(Duration wait) throws InterruptedException {
            take(wait);
            if (failed() && jobs.isEmpty()) {
                rewind();
            }
            return !failed();
        }

        private void take(Duration wait) throws InterruptedException {
            for (PublishLoop.Outcome o = lane.outcome(jobs.isEmpty() ? Duration.ZERO : wait); o != null;
                 o = lane.outcome(Duration.ZERO)) {
                PublishLoop.Job j = o.job();
                jobs.removeIf(x -> x == j); // by identity: a job's equals would compare its batches
                if (o instanceof PublishLoop.Fatal f) {
                    throw f.error();
                } else if (o instanceof PublishLoop.Failed f) {
                    redoFrom(j.workPartition(), j.offset(), f.aborted() || stopping.get() ? null : j);
                    backOff |= f.outage();
                } else if (o instanceof PublishLoop.Skipped) {
                    redoFrom(j.workPartition(), j.offset(), null);
                }
            }
        }

        private void rewind() {
            // after a rebalance the partition may belong to another teacher, which redoes the item
            // from the committed offset; seeking an unassigned partition would throw and end this one
            Set<TopicPartition> assigned = consumer.assignment();
            redo.forEach((tp, r) -> {
                if (!assigned.contains(tp)) {
                    return;
                }
                long next = r.unknown() == null ? r.offset()
                        : resumeOffset(consumer, tp, r.offset(), r.unknown().item());
                if (next > r.offset()) {
                    lane.committedAfterAll(r.unknown());
                }
                consumer.seek(tp, next);
            });
            redo.clear();
            if (backOff) {
                backOff = false;
                pauseForBackoff();
            }
            lane.resume();
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            long deadline = System.nanoTime() + TransactionalPublisher.PATIENCE.toNanos();
            try {
                // a stopping teacher aborts what is in flight, and a closed publisher has no outcomes to give
                while (!jobs.isEmpty() && !stopping.get() && lane.isRunning() && System.nanoTime() < deadline) {
                    take(Duration.ofMillis(100));
                }
                if (failed()) {
                    rewind(); // seeks only partitions that stay assigned after the rebalance
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
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

    /** True when no committed work item lies at or after this group's committed offsets. */
    private boolean runComplete(KafkaConsumer<String, byte[]> c) {
        try {
            boolean done = !WorkPlanner.workLeft(clients, c, topics.work(), stopping::get);
            outage.answered();
            return done;
        } catch (RuntimeException e) {
            if (!KafkaOutage.isOutage(e) && !(e instanceof ReadTimeoutException)) {
                throw e;
            }
            // an idle teacher whose broker is down: keep waiting instead of ending with exit 1
            outage.failed("checking whether the run is complete", e);
            pauseForBackoff();
            return false;
        }
    }

    /** Waits the outage's backoff; an interrupt stops the teacher. */
    private void pauseForBackoff() {
        if (!KafkaOutage.sleep(outage.backoff(), stopping::get) && Thread.currentThread().isInterrupted()) {
            stopping.set(true);
        }
    }

    private static void closeConsumer(KafkaConsumer<String, byte[]> c, boolean leave) {
        try {
            c.close(CloseOptions.groupMembershipOperation(leave ? CloseOptions.GroupMembershipOperation.LEAVE_GROUP
                    : CloseOptions.GroupMembershipOperation.DEFAULT).withTimeout(Duration.ofSeconds(10)));
        } catch (RuntimeException e) {
            LOG.debug("closing the work consumer: {}", e.toString());
        }
    }

    /** Builder in the DJL style: required settings first, then {@code optXxx}. */
    public static final class Builder {
        private KafkaClients clients;
        private RunSpec spec;
        private FeatureSource source;
        private String instanceId = "teacher-0";
        private MeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        private TeacherMetrics metrics;
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

        /** Where the Kafka clients' meters (and the teacher's own, unless {@link #optMetrics}) are registered. */
        public Builder optRegistry(MeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        /**
         * The teacher's meters, already bound to a registry (shared with the feature pipeline);
         * without it the worker binds its own to {@link #optRegistry}'s registry.
         */
        public Builder optMetrics(TeacherMetrics metrics) {
            this.metrics = metrics;
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
