package io.kdstream.manifest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.CompactedTopicScan;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TopicAdmin;

/**
 * Publishes and reads a run's manifest on the compacted topic {@code <run>.manifest}.
 *
 * <p>Several teachers may start a run at the same moment and Kafka has no compare-and-set, so
 * the first manifest written wins: each manifest is keyed {@code <run>/<digest of the spec>}
 * (compaction never merges two different specs) and readers take the earliest record. A
 * teacher whose spec lost the race sees the winner and is refused by
 * {@link RunSpec#requireMatches} with the differing fields.
 */
public final class ManifestStore {

    private static final Logger LOG = LoggerFactory.getLogger(ManifestStore.class);

    private final KafkaClients clients;

    public ManifestStore(KafkaClients clients) {
        this.clients = clients;
    }

    /** The manifest topic of a run: one partition, compacted; for creating it with a run's other topics. */
    public static NewTopic newTopic(String runId, short replicationFactor) {
        return new NewTopic(new RunTopics(runId).manifest(), 1, replicationFactor).configs(TopicAdmin.compacted());
    }

    /**
     * Returns the run's manifest, publishing {@code spec} first if the run has none. The caller
     * checks the result against its configuration with {@link RunSpec#requireMatches}.
     */
    public RunSpec publishIfAbsent(RunSpec spec, Duration timeout) {
        try (Admin admin = Admin.create(clients.admin())) {
            return publishIfAbsent(admin, spec, timeout);
        }
    }

    /** As {@link #publishIfAbsent(RunSpec, Duration)}, with the caller's admin client. */
    public RunSpec publishIfAbsent(Admin admin, RunSpec spec, Duration timeout) {
        String topic = new RunTopics(spec.runId()).manifest();
        long deadline = System.nanoTime() + timeout.toNanos();
        // ready before the first send (KAFKA-15591), also when another teacher created it a moment ago
        TopicAdmin.ensureTopics(admin, List.of(newTopic(spec.runId(), (short) -1)), timeout);
        // one reader for the look and the read-back: a teacher's start pays for one consumer, not two
        try (KafkaConsumer<String, byte[]> consumer = newReader()) {
            Optional<RunSpec> existing = read(consumer, spec.runId(), deadline);
            if (existing.isPresent()) {
                return existing.get();
            }
            try (KafkaProducer<String, byte[]> producer =
                         new KafkaProducer<>(clients.producer("manifest-" + spec.runId()))) {
                producer.send(new ProducerRecord<>(topic, spec.runId() + "/" + spec.digest(), spec.toJson()))
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("cannot publish the manifest of run " + spec.runId() + ": " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while publishing the manifest", e);
            }
            RunSpec winner = read(consumer, spec.runId(), deadline).orElseThrow(() ->
                    new IllegalStateException("manifest of run " + spec.runId() + " not readable after publishing it"));
            if (winner.equals(spec)) {
                LOG.info("published the manifest of run {}", spec.runId());
            }
            return winner;
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            throw unreachable(spec.runId(), e);
        }
    }

    /** The run's manifest if one was published; reads the manifest topic to its end. */
    public Optional<RunSpec> read(String runId, Duration timeout) {
        try (KafkaConsumer<String, byte[]> consumer = newReader()) {
            return read(consumer, runId, System.nanoTime() + timeout.toNanos());
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            throw unreachable(runId, e);
        }
    }

    private KafkaConsumer<String, byte[]> newReader() {
        return new KafkaConsumer<>(clients.consumer(null, "manifest-reader"));
    }

    /** The earliest manifest of the run, read from the beginning of the topic to its current end. */
    private static Optional<RunSpec> read(KafkaConsumer<String, byte[]> consumer, String runId, long deadline) {
        AtomicReference<RunSpec> first = new AtomicReference<>();
        CompactedTopicScan.scan(consumer, new RunTopics(runId).manifest(), deadline, r -> {
            if (r.key() != null && r.key().startsWith(runId + "/") && r.value() != null) {
                first.set(parse(r));
                return false;
            }
            return true;
        });
        return Optional.ofNullable(first.get());
    }

    private IllegalStateException unreachable(String runId, RuntimeException e) {
        return new IllegalStateException("cannot read the manifest of run " + runId + " from "
                + clients.bootstrapServers() + " (is Kafka reachable?): " + e.getMessage(), e);
    }

    /** Waits until a teacher has published the run's manifest (students start before teachers too). */
    public RunSpec await(String runId, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<RunSpec> spec = read(runId, clients.timeout());
            if (spec.isPresent()) {
                return spec.get();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no manifest for run '" + runId + "' on " + clients.bootstrapServers()
                        + " after " + timeout.toSeconds() + " s: start a teacher for this run first");
            }
            try {
                Thread.sleep(500); // poll interval while no teacher has published yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the manifest", e);
            }
        }
    }

    private static RunSpec parse(ConsumerRecord<String, byte[]> r) {
        try {
            return RunSpec.fromJson(r.value());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("manifest record at " + r.topic() + "@" + r.offset() + " is corrupt: "
                    + e.getMessage() + " (" + new String(r.value(), StandardCharsets.UTF_8) + ")", e);
        }
    }
}
