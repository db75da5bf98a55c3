package io.kdstream.benchmarks.pipeline;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.RunTopics;

/** Send-to-step latency of a Kafka-fed student behind a paced transactional teacher. */
final class LatencySection extends PipelineSection {

    LatencySection(Bench bench) {
        super(bench);
    }

    /**
     * Send-to-step latency: a paced teacher (one 4-batch transaction at a time, at about half the
     * student's speed, so the student waits for the teacher and queueing does not dominate).
     */
    void run(RunSpec base, List<FeatureBatch> baseData) throws Exception {
        RunSpec run = spec(base.runId() + "-lat", baseData.size());
        List<FeatureBatch> data = SyntheticBatches.batches(run);
        String topic = new RunTopics(run.runId()).features();
        createTopic(topic);
        createTopic(new RunTopics(run.runId()).dlq());
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        long pauseMs = 60; // 4 mlp steps take ~30 ms here
        Thread teacher = new Thread(() -> {
            FeatureBatchSerializer ser = new FeatureBatchSerializer();
            ser.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, clients.maxRecordBytes()), false);
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("bench-lat"))) {
                p.initTransactions();
                for (int i = 0; i < data.size(); i += 4) {
                    p.beginTransaction();
                    for (int j = i; j < Math.min(i + 4, data.size()); j++) {
                        FeatureBatch b = data.get(j);
                        RecordHeaders h = new RecordHeaders();
                        byte[] v = ser.serialize(topic, h, b);
                        sentAt.put(b.recordKey(), System.nanoTime());
                        p.send(new ProducerRecord<>(topic, null, b.recordKey(), v, h));
                    }
                    p.commitTransaction();
                    Thread.sleep(pauseMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "bench-teacher");
        teacher.start();
        Fed fed = train(run, "mlp", 0, 10, "latency", null);
        teacher.join();
        long[] lat = fed.stepAt().entrySet().stream().mapToLong(e -> e.getValue() - sentAt.get(e.getKey())).sorted()
                .toArray();
        rows.add(String.format("| latency teacher send → student step (`mlp`, transactions of 4, %d batches) | p50 %.1f ms, p99 %.1f ms |",
                lat.length, lat[lat.length / 2] / 1e6, lat[(int) (lat.length * 0.99)] / 1e6));
    }
}
