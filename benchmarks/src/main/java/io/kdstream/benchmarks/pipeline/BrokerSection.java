package io.kdstream.benchmarks.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.Int8Features;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.kafka.BrokerDiskUsage;
import io.kdstream.kafka.RunTopics;

/**
 * The broker path: transactional produce (as a teacher sends, 4 batches a transaction) against
 * plain, and read_committed consume against read_uncommitted of a plain topic.
 */
final class BrokerSection extends PipelineSection {

    BrokerSection(Bench bench) {
        super(bench);
    }

    /** Fills {@code <run>.features} too, for the Kafka-fed rows of the sections that follow. */
    void run(RunSpec run, List<FeatureBatch> data) throws Exception {
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

    /**
     * Producer {@code compression.type} none / lz4 / zstd on f16 and i8 feature records (issue 28):
     * bytes the broker holds on disk (log segments, describeLogDirs), and produce / consume
     * throughput, from interleaved repetitions. The records are reference-mode batches (features
     * and logits, no images: random pixels would only measure incompressible bytes) of Gaussian
     * features, about what layer-normalized features look like value by value.
     */
    void compression(RunSpec run, int batches) throws Exception {
        List<String> codecs = List.of("none", "lz4", "zstd");
        List<DType> dtypes = List.of(DType.F16, DType.I8);
        int reps = quick ? 1 : 3;
        for (DType dtype : dtypes) {
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < batches; i++) {
                values.add(asDtype(SyntheticBatches.batch(run, i, BATCH, TEACHER_DIM, false), dtype).encode());
            }
            long bytes = values.stream().mapToLong(v -> v.length).sum();
            double[] produce = new double[codecs.size()];
            double[] consume = new double[codecs.size()];
            long[] disk = new long[codecs.size()];
            for (int rep = 0; rep < reps; rep++) {
                for (int k = 0; k < codecs.size(); k++) {
                    int c = (k + rep) % codecs.size(); // rotated, so no codec always runs first
                    String topic = "cmp-" + dtype.name().toLowerCase() + "-" + codecs.get(c) + "-" + rep + "-"
                            + run.runId();
                    createTopic(topic);
                    produce[c] += produceCompressed(topic, values, codecs.get(c)) / reps;
                    consume[c] += consume(topic, values.size(), "read_uncommitted") / reps;
                    try (Admin admin = Admin.create(clients.admin())) {
                        disk[c] = BrokerDiskUsage.bytesByTopic(admin, List.of(topic), Duration.ofSeconds(60))
                                .getOrDefault(topic, -1L);
                    }
                }
            }
            double mb = bytes / 1e6;
            int n = values.size();
            for (int c = 0; c < codecs.size(); c++) {
                rows.add(String.format("| compression: %s records (%d KB), %s | on disk %.1f MB (**%.2f×** none); "
                                + "produce %.0f MB/s (speed %.2f× none); consume %.0f MB/s (speed %.2f× none) |",
                        dtype.name().toLowerCase(), bytes / n / 1024, codecs.get(c), disk[c] / 1e6,
                        (double) disk[c] / disk[0], mb / produce[c], produce[0] / produce[c], mb / consume[c],
                        consume[0] / consume[c]));
            }
        }
    }

    /** The batch with its features re-encoded as {@code dtype} (i8: per-row scaled). */
    private static FeatureBatch asDtype(FeatureBatch b, DType dtype) {
        float[] f = b.featureFloats();
        if (dtype == DType.I8) {
            Int8Features.Quantized q = Int8Features.quantize(f, b.batchSize(), b.featureDim());
            return new FeatureBatch(b.metadata(), q.values(), b.teacherLogits(), b.labels(), b.sampleIds(),
                    b.augSeeds(), null, q.scales());
        }
        return new FeatureBatch(b.metadata(), Tensor.ofFloats(dtype, new int[] {b.batchSize(), b.featureDim()}, f),
                b.teacherLogits(), b.labels(), b.sampleIds(), b.augSeeds(), null);
    }

    private double produceCompressed(String topic, List<byte[]> values, String codec) throws Exception {
        Map<String, Object> cfg = clients.producer("bench-" + codec);
        cfg.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(cfg)) {
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
}
