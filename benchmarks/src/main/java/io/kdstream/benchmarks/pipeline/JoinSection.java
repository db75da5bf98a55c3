package io.kdstream.benchmarks.pipeline;

import static io.kdstream.benchmarks.StudentMemoryBenchmark.rssKiB;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.Tensor;
import io.kdstream.kafka.RunTopics;
import io.kdstream.manifest.RunSpec;
import io.kdstream.student.StudentListener;
import io.kdstream.student.StudentTrainer;
import io.kdstream.vkd.Normalization;

/**
 * Joined runs (issue 39). Speed: the same {@code mlp} student, Kafka-fed, on one run (d_t 256, inputs
 * inline) and joining that run with a second one (d_t 128, ids only), in back-to-back pairs whose
 * order alternates; the joined student has a second projection and feature loss to compute, so the
 * ratio is the join's cost plus that head's. Memory: a student joining a run published
 * {@code farAhead} batches ahead with one that holds a few: RSS after the last joinable step and
 * after the idle timeout.
 */
final class JoinSection extends PipelineSection {

    private static final int FEW = 20;

    JoinSection(Bench bench) {
        super(bench);
    }

    void run(int batches, int farAhead) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        RunSpec a = spec("join-a-" + id, batches);
        RunSpec b = second(a, "join-b-" + id, 128);
        List<FeatureBatch> da = SyntheticBatches.batches(a);
        publish(a, da);
        publish(b, da.stream().map(x -> featuresOf(b, x)).toList());

        int reps = quick ? 1 : 5;
        int warmup = Math.min(20, batches / 3);
        double[] one = new double[reps];
        double[] joined = new double[reps];
        double[] ratio = new double[reps];
        Fed[] middle = new Fed[2];
        for (int rep = 0; rep < reps; rep++) {
            boolean oneFirst = rep % 2 == 0;
            Fed j = oneFirst ? null : train(List.of(a, b), config("mlp", 0), warmup, "joined-" + rep, null, true);
            Fed o = train(List.of(a), config("mlp", 0), warmup, "one-" + rep, null, true);
            if (oneFirst) {
                j = train(List.of(a, b), config("mlp", 0), warmup, "joined-" + rep, null, true);
            }
            one[rep] = o.samplesPerSecond();
            joined[rep] = j.samplesPerSecond();
            ratio[rep] = joined[rep] / one[rep];
            if (rep == reps / 2) {
                middle[0] = o;
                middle[1] = j;
            }
        }
        rows.add(String.format("| join: `mlp` student, %d Kafka-fed steps, one run (d_t 256, inputs inline) | %.0f samples/s "
                + "(runs %s) |", batches, median(one), Arrays.toString(round(one))));
        rows.add(String.format("| join: the same student joining a second run (d_t 128, ids only; a second projection "
                + "and feature loss) | %.0f samples/s (runs %s); pairs %s: median **%.3f×** one run (target ≥ 0.9×) |",
                median(joined), Arrays.toString(round(joined)), round2(ratio), median(ratio)));
        rows.add(String.format("| join: mean ms per step by phase (middle pair), one run vs joined | %s vs %s |",
                middle[0].phaseMillis(), middle[1].phaseMillis()));
        memory(id, farAhead);
    }

    /**
     * A run {@code farAhead} batches long against one holding {@link #FEW}: the student trains the
     * few, then waits at the idle timeout with the far run's consumer paused.
     */
    private void memory(String id, int farAhead) throws Exception {
        RunSpec far = second(spec("join-far-" + id, farAhead), "join-far-" + id, 128);
        RunSpec near = spec("join-near-" + id, farAhead);
        List<FeatureBatch> nearBatches = new ArrayList<>();
        for (int i = 0; i < FEW; i++) {
            nearBatches.add(SyntheticBatches.batch(near, i, BATCH, near.featureDim(), true));
        }
        publish(near, nearBatches);
        long recordBytes;
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("bench-far"))) {
            String topic = new RunTopics(far.runId()).features();
            createTopic(topic);
            byte[] first = null;
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < farAhead; i++) {
                byte[] v = featuresOf(far, SyntheticBatches.batch(near, i, BATCH, near.featureDim(), false)).encode();
                first = first == null ? v : first;
                sent.add(p.send(new ProducerRecord<>(topic, "0/" + i, v)));
            }
            for (var f : sent) {
                f.get(); // a lost record would leave the far run shorter than it says
            }
            recordBytes = first.length;
        }
        int prefetch = 4;
        AtomicLong atLastStep = new AtomicLong();
        long before = rssKiB();
        StudentTrainer.Result r = StudentTrainer.builder().setClients(clients).setRuns(List.of(near, far))
                .setGroup("join-memory").setCheckpointDir(work.resolve("ckpt-join-memory"))
                .setInputNormalization(normalization()).optConfig(config("mlp", 0)).optCheckpointEvery(1_000)
                .optPrefetch(prefetch).optIdleTimeout(Duration.ofSeconds(quick ? 5 : 20))
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        if (e.step() == FEW) {
                            atLastStep.set(rssKiB());
                        }
                    }
                }).build().run();
        long after = rssKiB();
        rows.add(String.format("| join memory: a run %,d batches ahead (%d KB records) joined with one of %d, prefetch %d "
                + "| %s after %d steps; RSS %d MiB before, %d at the last joinable step, %d after %d s waiting: "
                + "**%+d MiB** while waiting (bound: prefetch × record = %.1f MiB, plus one fetch) |", farAhead,
                recordBytes / 1024, FEW, prefetch,
                r.outcome(), r.steps(), before / 1024, atLastStep.get() / 1024, after / 1024, quick ? 5 : 20,
                (after - atLastStep.get()) / 1024, prefetch * recordBytes / 1048576.0));
    }

    /** Another teacher's run over the same batches: d_t {@code dim}, no logits, sample ids only. */
    private static RunSpec second(RunSpec like, String runId, int dim) {
        return like.toBuilder().setRunId(runId).setTeacher("bench-teacher-" + dim, "pool")
                .setFeatures(dim, Normalization.LAYER, DType.F16).optLogitClasses(0)
                .optInputMode(InputMode.REFERENCE).build();
    }

    /** Batch {@code of} as {@code run}'s teacher sends it: its own features, the same samples, no inputs. */
    private static FeatureBatch featuresOf(RunSpec run, FeatureBatch of) {
        int b = of.batchSize();
        float[] f = new float[b * run.featureDim()];
        java.util.Random r = new java.util.Random(of.metadata().batchIndex() + 1_000_003L);
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return new FeatureBatch(new io.kdstream.codec.BatchMetadata(RunSpec.SCHEMA_VERSION, run.runId(),
                of.metadata().epoch(), of.metadata().batchIndex(), run.teacherId(), run.normalization(), "bench"),
                Tensor.ofFloats(DType.F16, new int[] {b, run.featureDim()}, f), null, of.labels(), of.sampleIds(),
                of.augSeeds(), null);
    }

    private void publish(RunSpec run, List<FeatureBatch> batches) throws Exception {
        String topic = new RunTopics(run.runId()).features();
        createTopic(topic);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("bench-join"))) {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (FeatureBatch x : batches) {
                sent.add(p.send(new ProducerRecord<>(topic, x.recordKey(), x.encode())));
            }
            for (var f : sent) {
                f.get();
            }
        }
    }
}
