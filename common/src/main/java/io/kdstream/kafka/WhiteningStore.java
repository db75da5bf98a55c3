package io.kdstream.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;

/**
 * A run's calibrated whitening on the compacted topic {@code <run>.whitening} (DESIGN.md §3): the
 * first teacher publishes it, the others read it, so every teacher whitens with the same bits
 * even where their hardware would round the calibration forward differently.
 *
 * <p>At d_t = 3024 the float64 matrix is 73 MB, beyond any record limit, so it travels in chunks
 * of rows: record key {@code <sha256>/<chunk>}, value safetensors with {@code rows} F64 [n, d]
 * and metadata {@code sha256}, {@code chunk}, {@code chunks}, {@code row_start}, {@code dim};
 * chunk 0 also holds {@code mean} F64 [d] and {@code epsilon} F64 [1]. A reader reassembles the
 * chunks; the hash, which is the VkD math's to define, is checked by its user
 * ({@code CalibratedWhitening.verified}). The store holds tensors, not the vkd class.
 */
public final class WhiteningStore {

    /**
     * The stored tensors of one whitening: mean μ [d], matrix W [d, d] row-major, and the epsilon
     * of its calibration.
     */
    public record Tensors(double[] mean, double[] matrix, double epsilon) {
        public int dim() {
            return mean.length;
        }
    }

    private final KafkaClients clients;

    public WhiteningStore(KafkaClients clients) {
        this.clients = clients;
    }

    /** Creates {@code <run>.whitening} (compacted, one partition) if missing. */
    public void ensureTopic(String runId, short replicationFactor, Duration timeout) {
        Map<String, String> configs = new LinkedHashMap<>(TopicAdmin.compacted());
        configs.putAll(TopicAdmin.maxMessageBytes(clients.maxRecordBytes()));
        try (Admin admin = Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(new NewTopic(new RunTopics(runId).whitening(), 1, replicationFactor)
                    .configs(configs)), timeout);
        }
    }

    /** Publishes the chunks of {@code w}, hashed {@code sha256}, and waits until the broker has every one. */
    public void publish(String runId, String sha256, Tensors w, Duration timeout) {
        String topic = new RunTopics(runId).whitening();
        List<byte[]> chunks = encode(sha256, w, clients.maxRecordBytes() / 2);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(clients.producer("whitening-" + runId),
                new StringSerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < chunks.size(); i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, sha256 + "/" + i, chunks.get(i))));
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Future<RecordMetadata> f : sent) {
                f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot publish the whitening of run " + runId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing the whitening", e);
        }
    }

    /** The whitening with hash {@code sha256}, if all of its chunks are on the topic. */
    public Optional<Tensors> read(String runId, String sha256, Duration timeout) {
        String topic = new RunTopics(runId).whitening();
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<Integer, byte[]> chunks = new TreeMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(clients.consumer(null, "whitening-reader"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            boolean exists = CompactedTopicScan.scan(consumer, topic, deadline, r -> {
                if (r.key() != null && r.key().startsWith(sha256 + "/") && r.value() != null) {
                    chunks.put(Integer.parseInt(r.key().substring(sha256.length() + 1)), r.value());
                }
                return true;
            });
            if (!exists) {
                return Optional.empty();
            }
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            throw new IllegalStateException("cannot read " + topic + " from " + clients.bootstrapServers() + ": "
                    + e.getMessage(), e);
        }
        return decode(chunks);
    }

    /** Waits until the whitening with hash {@code sha256} is readable (its publisher may still be writing). */
    public Tensors await(String runId, String sha256, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<Tensors> w = read(runId, sha256, clients.timeout());
            if (w.isPresent()) {
                return w.get();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the manifest of run " + runId + " names whitening " + sha256
                        + " but " + new RunTopics(runId).whitening() + " does not hold it after " + timeout);
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the whitening", e);
            }
        }
    }

    /** The record values of {@code w}, each at most about {@code maxBytes}. */
    static List<byte[]> encode(String sha256, Tensors w, int maxBytes) {
        int d = w.dim();
        int rowsPerChunk = Math.max(1, maxBytes / (8 * d));
        int chunks = (d + rowsPerChunk - 1) / rowsPerChunk;
        double[] matrix = w.matrix();
        List<byte[]> out = new ArrayList<>();
        for (int c = 0; c < chunks; c++) {
            int start = c * rowsPerChunk;
            int rows = Math.min(rowsPerChunk, d - start);
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("rows", Tensor.ofDoubles(new int[] {rows, d}, Arrays.copyOfRange(matrix, start * d, (start + rows) * d)));
            if (c == 0) {
                t.put("mean", Tensor.ofDoubles(new int[] {d}, w.mean()));
                t.put("epsilon", Tensor.ofDoubles(new int[] {1}, new double[] {w.epsilon()}));
            }
            // in a fixed order: Map.of iterates in a per-JVM order, so the same chunk came out in other bytes
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("sha256", sha256);
            meta.put("chunk", Integer.toString(c));
            meta.put("chunks", Integer.toString(chunks));
            meta.put("row_start", Integer.toString(start));
            meta.put("dim", Integer.toString(d));
            out.add(SafeTensors.encode(t, meta));
        }
        return out;
    }

    /** Empty until every chunk is present. */
    static Optional<Tensors> decode(Map<Integer, byte[]> values) {
        byte[] first = values.get(0);
        if (first == null) {
            return Optional.empty();
        }
        SafeTensors.Contents head = SafeTensors.decode(first);
        int chunks = Integer.parseInt(head.metadata().get("chunks"));
        int d = Integer.parseInt(head.metadata().get("dim"));
        if (values.size() < chunks) {
            return Optional.empty();
        }
        double[] matrix = new double[Math.multiplyExact(d, d)];
        for (int c = 0; c < chunks; c++) {
            SafeTensors.Contents part = c == 0 ? head : SafeTensors.decode(values.get(c));
            int start = Integer.parseInt(part.metadata().get("row_start"));
            double[] rows = part.tensors().get("rows").toDoubles();
            System.arraycopy(rows, 0, matrix, start * d, rows.length);
        }
        return Optional.of(new Tensors(head.tensors().get("mean").toDoubles(), matrix,
                head.tensors().get("epsilon").toDoubles()[0]));
    }
}
