package io.kdstream.student;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.FeatureBatchValidator;
import io.kdstream.codec.InvalidBatchException;
import io.kdstream.kafka.DeadLetterQueue;
import io.kdstream.kafka.CommitTimes;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaOutage;
import io.kdstream.kafka.RunTopics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

/**
 * Reads {@code <run>.features} ({@code read_committed}, all partitions assigned, starting at given
 * offsets) on a background thread that decodes and validates ahead of training into a bounded
 * queue, so the trainer does not wait on Kafka. Invalid records go to the DLQ there. Every record
 * reaches the trainer, as a batch or as a rejection, so checkpoint offsets cover both.
 *
 * <p>The consumer is confined to the fetch thread; offset commits and rewinds are handed to it.
 *
 * <p>Records that were deleted before they were read (retention, {@code deleteRecords}) end the
 * stream with a {@link BatchesGoneException}: when it opens (the offsets it starts from, and the
 * whole topic if replays follow), when a fetch finds its offset below the log start offset (the
 * consumer runs with {@code auto.offset.reset=none}, so it cannot jump over them silently; a
 * replay starts at offset 0 for the same reason), and once a second while replays are to come.
 */
final class BatchStream implements BatchFeed {

    private static final Logger LOG = LoggerFactory.getLogger(BatchStream.class);

    private final String topic;
    private final BlockingQueue<Item> queue;
    private final ConcurrentLinkedQueue<Consumer<KafkaConsumer<String, byte[]>>> commands =
            new ConcurrentLinkedQueue<>();
    private final Map<Integer, Long> endOffsets = new ConcurrentHashMap<>();
    private final KafkaConsumer<String, byte[]> consumer;
    private final FeatureBatchValidator validator;
    private final DeadLetterQueue dlq;
    private final Timer decode;
    private final Thread thread;
    private final KafkaClientMetrics clientMetrics;
    private volatile boolean closing;
    private volatile Throwable failure;
    private final Function<FeatureBatch, BatchTensors.Staged> stager;
    private volatile int pass;
    private final int passes;
    private final DeletedBatches deleted;
    private final Map<Integer, String> lastKeys = new HashMap<>();
    private final KafkaOutage outage;

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(50);

    /**
     * Where a stream reads from.
     *
     * @param group    the student's consumer group
     * @param passes   how many passes over the topic the trainer makes in all (1 + replays)
     * @param prefetch batches decoded ahead of the trainer
     * @param clientId the consumer's client id: {@code <group>-stream}, and one per run for a student
     *                 joining several runs, so that their client metrics and MBeans stay apart
     */
    record Source(KafkaClients clients, RunTopics run, String group, int passes, int prefetch, String clientId) {
        Source(KafkaClients clients, RunTopics run, String group, int passes, int prefetch) {
            this(clients, run, group, passes, prefetch, group + "-stream");
        }
    }

    /**
     * A stream from {@code startOffsets} (per partition) in pass {@code startPass} of {@code source};
     * {@code stager} prepares each batch on the fetch thread, ahead of its step.
     */
    BatchStream(Source source, Map<Integer, Long> startOffsets, int startPass, FeatureBatchValidator validator,
                DeadLetterQueue dlq, MeterRegistry registry, Function<FeatureBatch, BatchTensors.Staged> stager) {
        this.stager = stager;
        KafkaClients clients = source.clients();
        RunTopics run = source.run();
        String group = source.group();
        int passes = source.passes();
        int prefetch = source.prefetch();
        this.topic = run.features();
        this.outage = new KafkaOutage(LOG, topic, System::nanoTime);
        this.passes = passes;
        this.deleted = new DeletedBatches(clients, run.runId());
        this.queue = new ArrayBlockingQueue<>(prefetch);
        this.validator = validator;
        this.dlq = dlq;
        this.pass = startPass;
        Map<String, Object> cfg = clients.consumer(group, source.clientId());
        cfg.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, prefetch);
        // A rewind (replay pass) or a commit waits for the poll in progress and for the fetch the
        // broker is holding back; at Kafka's 500 ms default that stalled an mlp student for ~500 ms
        // at every pass boundary (docs/benchmarks.md, pipeline). Records still arrive the moment
        // they are written; only an idle poll comes back sooner.
        cfg.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) POLL_TIMEOUT.toMillis());
        // every position is set by seek(); an offset out of range means deleted records (or a
        // recreated topic), which "earliest" would skip without a word
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        this.consumer = new KafkaConsumer<>(cfg);
        this.clientMetrics = new KafkaClientMetrics(consumer);
        clientMetrics.bindTo(registry);
        this.decode = Timer.builder("kdstream.student.step").tag("phase", "decode")
                .description("Student step time by phase").publishPercentileHistogram().register(registry);

        List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(60)).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        if (parts.isEmpty()) {
            consumer.close();
            throw new IllegalStateException("topic " + topic + " does not exist: has a teacher started this run?");
        }
        consumer.assign(parts);
        Map<TopicPartition, Long> needed = new HashMap<>();
        for (TopicPartition tp : parts) {
            Long start = startOffsets.get(tp.partition());
            if (start != null) {
                consumer.seek(tp, start);
            } else {
                consumer.seekToBeginning(List.of(tp));
            }
            needed.put(tp, replaysFollow(startPass) || start == null ? 0L : start);
        }
        try {
            deleted.require(needed, consumer.beginningOffsets(parts, Duration.ofSeconds(60)), lastKeys);
        } catch (RuntimeException e) {
            clientMetrics.close();
            consumer.close();
            throw e;
        }
        this.thread = new Thread(this::fetchLoop, "kdstream-fetch-" + group + "-" + run.runId());
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public Item take(Duration timeout) throws InterruptedException {
        Throwable f = failure;
        if (f instanceof BatchesGoneException gone) {
            throw gone; // at once: the batches queued before the gap do not make the run whole
        }
        if (f != null && queue.isEmpty()) {
            throw new IllegalStateException("reading " + topic + " failed: " + f.getMessage(), f);
        }
        return queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public Map<Integer, Long> endOffsets() {
        return endOffsets;
    }

    @Override
    public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        commands.add(c -> {
            Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
            Instant now = Instant.now(); // the admin API has no commit time; `kdstream runs` reads this one
            offsets.forEach((p, o) -> m.put(new TopicPartition(topic, p), CommitTimes.stamped(o, now)));
            try {
                c.commitSync(m);
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done; // the fetch thread runs commands between short polls; no wakeup() needed
    }

    /**
     * Pauses or resumes every partition ({@code KafkaConsumer.pause}): a paused consumer polls on
     * (commits and end offsets go on) but fetches nothing, so a run far ahead of the runs it is
     * joined with stays on the broker instead of in this process.
     */
    @Override
    public void pause(boolean paused) {
        commands.add(c -> {
            if (paused) {
                c.pause(c.assignment());
            } else {
                c.resume(c.assignment());
            }
        });
    }

    @Override
    public void rewind(int newPass) {
        commands.add(c -> {
            // offset 0, not seekToBeginning(): if records were deleted, the fetch fails as out of
            // range and says so, instead of the replay starting at the new log start
            c.assignment().forEach(tp -> c.seek(tp, 0));
            queue.clear();
            pass = newPass;
            lastKeys.clear();
        });
    }

    private void fetchLoop() {
        long lastEnd = 0;
        try {
            while (!closing) {
                runCommands();
                if (System.nanoTime() - lastEnd > 1_000_000_000L) {
                    probeEndOffsets();
                    lastEnd = System.nanoTime();
                }
                for (ConsumerRecord<String, byte[]> r : poll()) {
                    lastKeys.put(r.partition(), r.key());
                    Item item = toItem(r, pass);
                    while (!closing && !queue.offer(item, 100, TimeUnit.MILLISECONDS)) {
                        runCommands(); // commits must not wait for the trainer to drain the queue
                    }
                    if (item.pass() != pass) {
                        break; // rewound while waiting: the rest of this poll belongs to the old pass
                    }
                }
            }
        } catch (WakeupException e) {
            // close() interrupts a poll this way
        } catch (BatchesGoneException e) {
            LOG.error(e.getMessage());
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            if (!closing) {
                LOG.error("fetching {} failed", topic, t);
                failure = t;
            }
        } finally {
            try {
                runCommands();
            } catch (WakeupException e) {
                // closing: pending commits fail and their callers are told so
            } catch (BatchesGoneException e) {
                failure = e; // a gap found by a last command; the trainer is told at its next take()
            }
            clientMetrics.close();
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private boolean replaysFollow(int currentPass) {
        return currentPass + 1 < passes;
    }

    /**
     * Polls; a position below the log start offset is a gap of deleted records and ends the
     * stream. A position above the end (the topic was recreated) starts over from the beginning,
     * as {@code auto.offset.reset=earliest} did.
     */
    private Iterable<ConsumerRecord<String, byte[]>> poll() {
        try {
            return consumer.poll(POLL_TIMEOUT);
        } catch (OffsetOutOfRangeException e) {
            Map<TopicPartition, Long> starts = consumer.beginningOffsets(e.offsetOutOfRangePartitions().keySet(),
                    PROBE_TIMEOUT);
            deleted.require(e.offsetOutOfRangePartitions(), starts, lastKeys);
            LOG.warn("{}: offsets {} are past the end of the topic (was it recreated?); reading from the beginning",
                    topic, e.offsetOutOfRangePartitions());
            consumer.seekToBeginning(e.offsetOutOfRangePartitions().keySet());
            return List.of();
        }
    }

    /** A replay still to come needs every record from offset 0. */
    private void requireWholeTopic() {
        Map<TopicPartition, Long> zero = new HashMap<>();
        consumer.assignment().forEach(tp -> zero.put(tp, 0L));
        deleted.require(zero, consumer.beginningOffsets(consumer.assignment(), PROBE_TIMEOUT), Map.of());
    }

    /**
     * Refreshes end offsets (for lag), which doubles as the cluster's pulse: while it cannot be
     * reached, poll() just returns nothing and the clients reconnect with backoff (up to
     * {@code reconnect.backoff.max.ms}); this says so in the log instead of failing, and the
     * trainer's {@code --idle-timeout} bounds the wait.
     */
    private void probeEndOffsets() {
        try {
            consumer.endOffsets(consumer.assignment(), PROBE_TIMEOUT)
                    .forEach((tp, o) -> endOffsets.put(tp.partition(), o));
            if (replaysFollow(pass)) {
                requireWholeTopic();
            }
            outage.answered();
        } catch (org.apache.kafka.common.errors.RetriableException e) {
            // the student stops after --idle-timeout without a batch; until then this is one line
            // at the start, one every KafkaOutage.REMINDER, and one when Kafka answers again
            outage.failed("reading the end offsets", e);
        }
    }

    private void runCommands() {
        Consumer<KafkaConsumer<String, byte[]>> cmd;
        while ((cmd = commands.poll()) != null) {
            cmd.accept(consumer);
        }
    }

    private Item toItem(ConsumerRecord<String, byte[]> r, int currentPass) {
        long t0 = System.nanoTime();
        try {
            FeatureBatch batch = validator.validate(FeatureBatch.decode(r.value()));
            return new Fetched(r.partition(), r.offset(), currentPass, r.key(), batch, stager.apply(batch));
        } catch (InvalidBatchException e) {
            LOG.warn("{}-{}@{} (key {}) rejected: {}", r.topic(), r.partition(), r.offset(), r.key(), e.getMessage());
            if (currentPass == 0) {
                dlq.send(r, e); // replays meet the same record again; it is in the DLQ already
            }
            return new Rejected(r.partition(), r.offset(), currentPass, r.key(), e.reason().tag());
        } finally {
            decode.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        closing = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
