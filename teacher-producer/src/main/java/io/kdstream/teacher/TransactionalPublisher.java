package io.kdstream.teacher;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnreleasedInstanceIdException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.kafka.KafkaOutage;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

/**
 * The teacher's transactional producer and everything about its life (DESIGN.md §6): one
 * transaction per work item (begin, encoded batches, the work offset, commit), a commit that timed
 * out retried, an abort retried through an outage, a producer in Kafka's fatal state replaced by a
 * new one of the same transactional id, and the one decision whether a fenced producer means that
 * another live teacher took this one's {@code --instance-id} ({@link InstanceFencedException}) or
 * that the broker aborted a transaction that outlived {@code --transaction-timeout} (not a twin:
 * replaced like a fatal producer).
 *
 * <p>Used by one worker thread; a watchdog thread only reads the producer's connection count.
 */
final class TransactionalPublisher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionalPublisher.class);

    /** How long a commit, an abort or a new producer is retried through an outage before the teacher gives up. */
    static final Duration PATIENCE = Duration.ofMinutes(10);
    private static final int MAX_REPLACEMENTS = 3;
    private static final Duration WATCH_INTERVAL = Duration.ofSeconds(5);

    private final String instanceId;
    private final String featuresTopic;
    private final Map<String, Object> config;
    private final Function<Map<String, Object>, Producer<String, byte[]>> factory;
    private final FeatureBatchSerializer serializer;
    private final Duration transactionTimeout;
    private final MeterRegistry registry;
    private final TeacherMetrics metrics;
    private final KafkaOutage outage;
    private final BooleanSupplier stopping;
    private final ScheduledExecutorService watchdog;
    // replaced only by the worker thread (see replace); the watchdog reads it
    private volatile Producer<String, byte[]> producer;
    private volatile boolean inTransaction;
    private KafkaClientMetrics producerMetrics;
    private long transactionStart; // System.nanoTime() at begin
    private int replacements; // producers replaced since the last commit
    private int unconnectedChecks; // only the watchdog thread

    /**
     * What the publisher's producers are made of.
     *
     * @param instanceId         the teacher's {@code --instance-id}
     * @param featuresTopic      {@code <run>.features}
     * @param config             the transactional producer's configuration
     * @param serializer         encodes a batch, refusing one above the record limit
     * @param transactionTimeout {@code --transaction-timeout}
     */
    record Settings(String instanceId, String featuresTopic, Map<String, Object> config,
                    FeatureBatchSerializer serializer, Duration transactionTimeout) {
    }

    TransactionalPublisher(Settings settings, Function<Map<String, Object>, Producer<String, byte[]>> factory,
                           MeterRegistry registry, TeacherMetrics metrics, KafkaOutage outage, BooleanSupplier stopping) {
        this.instanceId = settings.instanceId();
        this.featuresTopic = settings.featuresTopic();
        this.config = settings.config();
        this.factory = factory;
        this.serializer = settings.serializer();
        this.transactionTimeout = settings.transactionTimeout();
        this.registry = registry;
        this.metrics = metrics;
        this.outage = outage;
        this.stopping = stopping;
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kdstream-kafka-watchdog");
            t.setDaemon(true);
            return t;
        });
        open();
        watchdog.scheduleWithFixedDelay(this::watchConnections, WATCH_INTERVAL.toMillis(), WATCH_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Registers the transactional id with the coordinator, fencing any earlier producer of this instance. */
    void initTransactions() {
        try {
            producer.initTransactions();
        } catch (KafkaException e) {
            throw twinOr(e);
        }
    }

    void begin() {
        producer.beginTransaction();
        transactionStart = System.nanoTime();
        inTransaction = true;
    }

    /** Encodes and sends one batch inside the open transaction; a failed send surfaces at {@link #commit}. */
    void send(FeatureBatch batch) {
        RecordHeaders headers = new RecordHeaders();
        byte[] value = metrics.encode().record(() -> serializer.serialize(featuresTopic, headers, batch));
        producer.send(new ProducerRecord<>(featuresTopic, null, batch.recordKey(), value, headers));
        metrics.sent(value.length);
    }

    /**
     * Adds the work offset to the transaction and commits it, retrying a commit that timed out (a
     * broker restarting or slow to come back): Kafka refuses to abort such a transaction.
     *
     * @return false if the teacher was asked to stop before the commit's outcome was known
     * @throws KafkaOutage.OutlastedException if the commit timed out for {@link #PATIENCE}
     */
    boolean commit(WorkItem item, Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
        producer.sendOffsetsToTransaction(offsets, group);
        boolean done = outage.retryUntil(System.nanoTime() + PATIENCE.toNanos(), "committing work item " + item.key(),
                stopping, producer::commitTransaction); // throws if any send of the item failed
        if (done) {
            inTransaction = false;
            committed();
        }
        return done;
    }

    /** The item's commit is known to have landed (also after a failure that left it unknown). */
    void committed() {
        replacements = 0;
    }

    /**
     * Aborts the item's transaction, retrying through an outage (Kafka then refuses every other
     * call until the abort is retried) for up to {@link #PATIENCE}. A producer that refuses to
     * abort for another reason is replaced.
     *
     * @return true if the transaction is aborted, false if its outcome is left to the broker (the
     *         producer was replaced, or the teacher is stopping)
     * @throws InstanceFencedException if another live teacher took this one's identity
     */
    boolean abort(WorkItem item) {
        try {
            boolean done = outage.retryUntil(System.nanoTime() + PATIENCE.toNanos(), "aborting work item "
                    + item.key(), stopping, producer::abortTransaction);
            if (done) {
                inTransaction = false;
                metrics.aborted();
            }
            return done;
        } catch (KafkaException | IllegalStateException e) {
            if (stopping.getAsBoolean()) {
                LOG.warn("abortTransaction failed: {}", e.toString());
                return false;
            }
            RuntimeException twin = twinOr(e);
            if (twin != e) {
                throw twin;
            }
            // a producer in Kafka's fatal error state refuses every transactional call: redoing
            // the item with it would spin
            replace(item, e);
            return false;
        }
    }

    /** Aborts without retrying: the teacher is stopping, or the item cannot succeed anyway. */
    void abortQuietly() {
        try {
            producer.abortTransaction();
            inTransaction = false;
            metrics.aborted();
        } catch (KafkaException | IllegalStateException e) {
            LOG.warn("abortTransaction failed: {}", e.toString());
        }
    }

    /**
     * The exception to end the teacher with when {@code e} says another live process holds this
     * teacher's identity (a newer producer of its transactional id fenced this one, or a newer
     * member took its static group membership): an {@link InstanceFencedException}; otherwise
     * {@code e} itself. A producer fenced while its transaction was open longer than
     * {@code --transaction-timeout} is no twin's doing: the broker aborts such a transaction and
     * bumps the producer epoch itself (seen when a broker came back after a long outage).
     */
    RuntimeException twinOr(RuntimeException e) {
        Throwable fenced = fencedBy(e);
        boolean transactionTimedOut = fenced instanceof ProducerFencedException && inTransaction
                && System.nanoTime() - transactionStart >= transactionTimeout.toNanos();
        return fenced == null || transactionTimedOut ? e : new InstanceFencedException(instanceId, fenced);
    }

    /**
     * Replaces a producer that refuses to abort (Kafka's fatal error state, e.g. after a retried
     * commit ended in {@code InvalidTxnStateException} once a broker came back from a full disk)
     * with a new one of the same transactional id. Its {@code initTransactions} fences the old
     * producer and completes the open transaction, so afterwards the group's committed offsets say
     * whether the item committed. Gives up after {@value #MAX_REPLACEMENTS} replacements without a
     * commit, because then the cause is not this producer.
     */
    private void replace(WorkItem item, RuntimeException cause) {
        if (++replacements > MAX_REPLACEMENTS) {
            throw new IllegalStateException("teacher " + instanceId + " cannot continue: " + MAX_REPLACEMENTS
                    + " new producers in a row refused work item " + item.key() + " (" + cause.getMessage()
                    + "); restart it: uncommitted work is redone", cause);
        }
        LOG.warn("teacher {}: its producer cannot abort work item {} ({}); replacing it with a new producer "
                + "(replacement {} of at most {} without a commit)", instanceId, item.key(), cause.toString(),
                replacements, MAX_REPLACEMENTS);
        metrics.producerReplaced();
        closeProducer(Duration.ZERO);
        inTransaction = false; // nothing is open on the new producer
        open();
        try {
            if (outage.retryUntil(System.nanoTime() + PATIENCE.toNanos(), "starting a new producer after work item "
                    + item.key(), stopping, producer::initTransactions)) {
                outage.answered();
            }
        } catch (KafkaException e) {
            throw twinOr(e);
        }
    }

    private void open() {
        producer = factory.apply(config);
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

    /** Committed work is flushed by then; the bound keeps a dead broker from holding the teacher's exit. */
    @Override
    public void close() {
        watchdog.shutdownNow();
        closeProducer(Duration.ofSeconds(10));
    }

    /**
     * While a transaction is open and the producer has had no connection to any broker for two
     * checks in a row, reports an outage at once: a blocked send or commit only fails after
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
            if (connections == 0 && inTransaction) {
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

    /**
     * The Kafka error that says another client holds this teacher's identity: its transactional
     * id (a newer producer fenced this one) or its static group membership. Kafka sometimes
     * reports it as the cause of a generic {@link KafkaException}.
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
}
