package io.kdstream.student;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.Tensor;
import io.kdstream.data.InputNormalization;
import io.kdstream.model.FeatureModel;
import io.kdstream.vkd.FeatureNormalizer;
import io.kdstream.vkd.Normalization;

/**
 * Online KD, the way most KD code runs today: the teacher's forward pass on the trainer's own
 * thread before every student step (no Kafka, no second process). The benchmark's baseline for
 * what streaming hides.
 */
final class OnlineTeacherFeed implements BatchFeed {

    private final FeatureModel teacher;
    private final InputNormalization norm;
    private final FeatureNormalizer normalizer = Normalization.LAYER.create();
    private final List<FeatureBatch> batches;
    private final NDManager manager = NDManager.newBaseManager();
    private int next;
    private int pass;
    private long teacherNanos;

    OnlineTeacherFeed(FeatureModel teacher, InputNormalization norm, List<FeatureBatch> batches) {
        this.teacher = teacher;
        this.norm = norm;
        this.batches = batches;
    }

    /** Time spent in the teacher so far. */
    long teacherNanos() {
        return teacherNanos;
    }

    @Override
    public Item take(Duration timeout) {
        if (next >= batches.size()) {
            return null;
        }
        FeatureBatch b = batches.get(next);
        long t0 = System.nanoTime();
        Tensor in = b.inlineInputs().orElseThrow();
        float[] features;
        float[] logits;
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = norm.toModelInput(sub, in.toByteArray(), new Shape(in.dim(0), in.dim(1), in.dim(2), in.dim(3)));
            NDList out = teacher.forward(x);
            features = normalizer.normalize(out.get(0).toType(DataType.FLOAT32, false)).toFloatArray();
            logits = out.get(1).toType(DataType.FLOAT32, false).toFloatArray();
            out.forEach(NDArray::close);
        }
        teacherNanos += System.nanoTime() - t0;
        FeatureBatch withTeacher = new FeatureBatch(b.metadata(),
                Tensor.ofFloats(DType.F32, new int[] {b.batchSize(), features.length / b.batchSize()}, features),
                Tensor.ofFloats(DType.F32, new int[] {b.batchSize(), logits.length / b.batchSize()}, logits),
                b.labels(), b.sampleIds(), b.augSeeds(), in);
        return new Fetched(0, next++, pass, b.recordKey(), withTeacher, null);
    }

    @Override
    public Map<Integer, Long> endOffsets() {
        return Map.of(0, (long) batches.size());
    }

    @Override
    public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void rewind(int newPass) {
        next = 0;
        pass = newPass;
    }

    @Override
    public void close() {
        manager.close();
    }
}
