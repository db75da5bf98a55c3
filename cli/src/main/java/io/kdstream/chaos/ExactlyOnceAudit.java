package io.kdstream.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import io.kdstream.kafka.KafkaClients;
import io.kdstream.process.ChildProcess;
import io.kdstream.student.Checkpoint;
import io.kdstream.student.CheckpointStore;
import io.kdstream.student.StepTrace;

/**
 * The one exactly-once check of every scenario, from outside the processes: what a
 * {@code read_committed} reader of a run's features topic sees (each (epoch, batch) once, none
 * missing), and what a student's {@code --trace} says once {@link StepTrace#replay} has applied its
 * rollbacks (each batch trained once in the surviving history). Also the progress probes that pace
 * the faults, read from the same two places.
 *
 * <p>The scenarios' traces start fresh (their student directories are deleted first), so a
 * process that has not stepped yet started from step 0 or from the last surviving step.
 */
final class ExactlyOnceAudit {

    /** Batches never delivered (or trained) and delivered (or trained) more than once. */
    record Tally(int lost, int duplicated) {
        Tally plus(Tally o) {
            return new Tally(lost + o.lost, duplicated + o.duplicated);
        }

        int faults() {
            return lost + duplicated;
        }
    }

    private final Supplier<String> bootstrap;

    ExactlyOnceAudit(Supplier<String> bootstrap) {
        this.bootstrap = bootstrap;
    }

    /** Every (epoch, batch) of {@code run}'s {@code epochs} as a read_committed reader sees it, to the last stable offset. */
    Tally delivered(String run, int epochs) {
        Map<String, Integer> seen = readCommitted(run, epochs * ChaosRig.PER_EPOCH);
        int lost = 0;
        for (int e = 0; e < epochs; e++) {
            for (int b = 0; b < ChaosRig.PER_EPOCH; b++) {
                lost += seen.containsKey(e + "/" + b) ? 0 : 1;
            }
        }
        return new Tally(lost, seen.values().stream().mapToInt(n -> n - 1).sum());
    }

    /** Every batch of one pass over {@code epochs}, as the surviving history of a student's trace trained it. */
    static Tally trained(StepTrace.Replay r, int epochs) {
        return new Tally(r.missing(1, epochs, ChaosRig.PER_EPOCH).size(), r.duplicates());
    }

    static Tally trained(Path trace, int epochs) throws IOException {
        return trained(StepTrace.replay(trace), epochs);
    }

    /** The last stable offset of the run's features topic (summed over partitions): for pacing kills. */
    long lastStableOffset(String run) {
        Map<String, Object> cfg = KafkaClients.of(bootstrap.get()).consumer(null, "chaos-probe");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cfg.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            var parts = c.partitionsFor(run + ".features", Duration.ofSeconds(3));
            if (parts == null || parts.isEmpty()) {
                return 0;
            }
            List<TopicPartition> tps = parts.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            // the last stable offset: it moves at each committed work item (markers take offsets too)
            return c.endOffsets(tps, Duration.ofSeconds(3)).values().stream().mapToLong(Long::longValue).sum();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** The step of the trace's latest step line (or start, before the process stepped); -1 before any. */
    static long lastStep(Path trace) {
        StepTrace.Replay r = replayIfPresent(trace);
        if (r == null || r.starts() == 0) {
            return -1;
        }
        return r.surviving().isEmpty() ? 0 : r.surviving().get(r.surviving().size() - 1).step();
    }

    /** The step the {@code n}-th process on the trace started from, once it wrote its start line (-1 if never). */
    static long startOf(Path trace, int n, ChildProcess p) throws InterruptedException {
        long[] s = {-1};
        ChaosRig.waitFor(() -> {
            if (!p.isAlive()) {
                return true;
            }
            StepTrace.Replay r = replayIfPresent(trace);
            if (r != null && r.starts() >= n) {
                s[0] = n == 1 ? 0 : r.interruptions().get(n - 2).resumedFrom();
                return true;
            }
            return false;
        }, Duration.ofSeconds(120));
        return s[0];
    }

    /** True when the newest checkpoints in {@code a} and {@code b} hold bit-equal tensors. */
    static boolean sameParams(Path a, Path b) {
        Checkpoint x = new CheckpointStore(a, 1).latestValid().orElseThrow();
        Checkpoint y = new CheckpointStore(b, 1).latestValid().orElseThrow();
        if (!x.tensors().keySet().equals(y.tensors().keySet())) {
            return false;
        }
        return x.tensors().entrySet().stream()
                .allMatch(e -> e.getValue().buffer().equals(y.tensors().get(e.getKey()).buffer()));
    }

    private static StepTrace.Replay replayIfPresent(Path trace) {
        try {
            return Files.exists(trace) ? StepTrace.replay(trace) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** (epoch/batch) key → how often a read_committed reader sees it, read to the last stable offset. */
    private Map<String, Integer> readCommitted(String run, int expected) {
        Map<String, Object> cfg = KafkaClients.of(bootstrap.get()).consumer(null, "chaos-verifier");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> seen = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            List<TopicPartition> tps = c.partitionsFor(run + ".features", Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (end.entrySet().stream().anyMatch(e -> c.position(e.getKey()) < e.getValue())
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    seen.merge(r.key(), 1, Integer::sum);
                }
            }
        }
        ChaosRig.log("read_committed reader: %d distinct batches of %d, %d records", seen.size(), expected,
                seen.values().stream().mapToInt(Integer::intValue).sum());
        return seen;
    }
}
