package io.kdstream.student;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.Int8Features;
import io.kdstream.codec.SampleViews;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.vkd.Normalization;

/**
 * Pre-produced feature streams for student tests, without a teacher service: the "teacher" is a
 * fixed random projection of the augmented pixels followed by layer normalization, a signal
 * correlated with the images, cheap to compute and identical in every run.
 */
final class FeatureStreams {

    static final int TEACHER_DIM = 96;

    private FeatureStreams() {
    }

    static RunSpec spec(String run, DatasetRef data, int batchSize, int epochs, InputMode mode, int batchesPerEpoch) {
        return spec(run, data, batchSize, epochs, mode, batchesPerEpoch, DType.F16);
    }

    static RunSpec spec(String run, DatasetRef data, int batchSize, int epochs, InputMode mode, int batchesPerEpoch,
                        DType featureDtype) {
        return spec(run, data, batchSize, epochs, mode, batchesPerEpoch, featureDtype, TEACHER_DIM);
    }

    /** A run of a teacher with {@code featureDim} features (another d_t is another teacher). */
    static RunSpec spec(String run, DatasetRef data, int batchSize, int epochs, InputMode mode, int batchesPerEpoch,
                        DType featureDtype, int featureDim) {
        return RunSpec.builder().setRunId(run).setSource(data.id(), 10, List.of(1, 28, 28))
                .setTeacher("random-projection-teacher-" + featureDim, "pixels")
                .setFeatures(featureDim, Normalization.LAYER, featureDtype).optInputMode(mode)
                .optAugmentation(AugmentPolicy.parse("flip"))
                .setStream(batchSize, batchesPerEpoch, epochs, 11L).build();
    }

    /** As {@link #produce(KafkaClients, String, DatasetRef, int, int, InputMode)} with features of {@code dtype}. */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode, DType dtype) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, spec -> List.of(), (spec, sent) -> { }, dtype);
    }

    /** Creates the run's topics and manifest and publishes every batch of every epoch. */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, spec -> List.of());
    }

    /** As above, with raw records (e.g. poison) published ahead of the batches. */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first)
            throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, first, (spec, sent) -> { });
    }

    /** Called after each valid batch is acknowledged, with how many were sent so far (to interleave other writers). */
    interface AfterBatch {
        void sent(RunSpec spec, int count) throws Exception;
    }

    /** As above, calling {@code afterBatch} between the batches. */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first,
                           AfterBatch afterBatch) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, first, afterBatch, DType.F16, TEACHER_DIM);
    }

    private static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                                   InputMode mode, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first,
                                   AfterBatch afterBatch, DType dtype) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, first, afterBatch, dtype, TEACHER_DIM);
    }

    /**
     * A run of a teacher with {@code featureDim} features, publishing only the batches {@code publish}
     * accepts (a teacher that stopped for good publishes fewer).
     */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode, int featureDim, java.util.function.BiPredicate<Integer, Integer> publish)
            throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, featureDim, spec -> List.of(), publish);
    }

    /** As above, with raw records (e.g. poison) published ahead of the batches. */
    static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                           InputMode mode, int featureDim, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first,
                           java.util.function.BiPredicate<Integer, Integer> publish) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, first, (spec, sent) -> { }, DType.F16, featureDim,
                publish);
    }

    private static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                                   InputMode mode, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first,
                                   AfterBatch afterBatch, DType dtype, int featureDim) throws Exception {
        return produce(clients, run, data, batchSize, epochs, mode, first, afterBatch, dtype, featureDim,
                (e, b) -> true);
    }

    private static RunSpec produce(KafkaClients clients, String run, DatasetRef data, int batchSize, int epochs,
                                   InputMode mode, Function<RunSpec, List<ProducerRecord<String, byte[]>>> first,
                                   AfterBatch afterBatch, DType dtype, int featureDim,
                                   java.util.function.BiPredicate<Integer, Integer> publish) throws Exception {
        ImageDataset train = data.train();
        BatchSource source = new BatchSource(train, 11L, batchSize, AugmentPolicy.parse("flip"));
        RunSpec spec = spec(run, data, batchSize, epochs, mode, source.batchesPerEpoch(), dtype, featureDim);
        RunTopics t = new RunTopics(run);
        try (Admin admin = Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(new NewTopic(t.features(), 1, (short) -1),
                    new NewTopic(t.dlq(), 1, (short) -1)), Duration.ofSeconds(60));
        }
        new ManifestStore(clients).publishIfAbsent(spec, Duration.ofSeconds(60));
        float[][] w = projection(featureDim, train.sampleSize());
        try (KafkaProducer<String, byte[]> raw = new KafkaProducer<>(clients.producer("test-poisoner"))) {
            for (ProducerRecord<String, byte[]> r : first.apply(spec)) {
                raw.send(r).get();
            }
        }
        try (KafkaProducer<String, FeatureBatch> p = new KafkaProducer<>(clients.producer("test-teacher"),
                new StringSerializer(), new FeatureBatchSerializer())) {
            int sent = 0;
            for (int e = 0; e < epochs; e++) {
                for (int b = 0; b < source.batchesPerEpoch(); b++) {
                    if (!publish.test(e, b)) {
                        continue;
                    }
                    FeatureBatch fb = toFeatureBatch(spec, source.batch(e, b), w, mode);
                    p.send(new ProducerRecord<>(t.features(), fb.recordKey(), fb)).get();
                    afterBatch.sent(spec, ++sent);
                }
            }
        }
        return spec;
    }

    /** Batch (epoch, index) of a run produced by {@link #produce}, rebuilt. */
    static FeatureBatch batch(RunSpec spec, DatasetRef data, int epoch, int index) {
        ImageDataset train = data.train();
        BatchSource source = new BatchSource(train, 11L, spec.batchSize(), AugmentPolicy.parse("flip"));
        return toFeatureBatch(spec, source.batch(epoch, index), projection(spec.featureDim(), train.sampleSize()),
                spec.inputMode());
    }

    static FeatureBatch toFeatureBatch(RunSpec spec, Batch batch, float[][] w, InputMode mode) {
        int dim = spec.featureDim();
        int n = batch.size();
        int px = batch.channels() * batch.height() * batch.width();
        float[] f = new float[n * dim];
        for (int i = 0; i < n; i++) {
            double mean = 0;
            for (int k = 0; k < dim; k++) {
                double s = 0;
                for (int j = 0; j < px; j++) {
                    s += w[k][j] * (batch.inputs()[i * px + j] & 0xff) / 255.0;
                }
                f[i * dim + k] = (float) Math.tanh(s);
                mean += f[i * dim + k];
            }
            mean /= dim;
            double var = 0;
            for (int k = 0; k < dim; k++) {
                var += Math.pow(f[i * dim + k] - mean, 2);
            }
            double std = Math.sqrt(var / dim + 1e-5);
            for (int k = 0; k < dim; k++) {
                f[i * dim + k] = (float) ((f[i * dim + k] - mean) / std);
            }
        }
        Tensor inputs = mode == InputMode.INLINE
                ? new Tensor(DType.U8, new int[] {n, batch.channels(), batch.height(), batch.width()}, batch.inputs().clone())
                : null;
        BatchMetadata meta = new BatchMetadata(RunSpec.SCHEMA_VERSION, spec.runId(), batch.epoch(), batch.index(),
                spec.teacherId(), spec.normalization(), "test-teacher");
        // as the teacher does: in reference mode, what it saw, for the student to verify its rebuilt inputs
        SampleViews views = mode == InputMode.REFERENCE
                ? new SampleViews(batch.inputChecksums(), batch.cropBoxes(), batch.flips()) : null;
        if (spec.featureDtype() == DType.I8) {
            Int8Features.Quantized q = Int8Features.quantize(f, n, dim);
            return new FeatureBatch(meta, q.values(), null, batch.labels().clone(), batch.sampleIds().clone(),
                    batch.augSeeds().clone(), inputs, q.scales(), views);
        }
        return new FeatureBatch(meta, Tensor.ofFloats(spec.featureDtype(), new int[] {n, dim}, f), null,
                batch.labels().clone(), batch.sampleIds().clone(), batch.augSeeds().clone(), inputs, null, views);
    }

    static float[][] projection(int dim, int inputs) {
        Random r = new Random(dim == TEACHER_DIM ? 5 : 5 + dim); // another d_t, another teacher
        float[][] w = new float[dim][inputs];
        for (float[] row : w) {
            for (int j = 0; j < inputs; j++) {
                row[j] = (float) (r.nextGaussian() / Math.sqrt(inputs) * 4);
            }
        }
        return w;
    }
}
