package io.kdstream.benchmarks.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.RunSpec;
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
