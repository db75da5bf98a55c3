package io.kdstream.benchmarks.feed;

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
import io.kdstream.student.BatchFeed;
import io.kdstream.vkd.FeatureNormalizer;
import io.kdstream.vkd.Normalization;

/**
 * Online KD, the way most KD code runs today: the teacher's forward pass on the trainer's own
 * thread before every student step (no Kafka, no second process). The benchmark's baseline for
 * what streaming hides.
 */
public final class OnlineTeacherFeed implements BatchFeed {

    private final FeatureModel teacher;
    private final InputNormalization norm;
    private final FeatureNormalizer normalizer = Normalization.LAYER.create();
    private final MemoryFeed inputs;
    private final NDManager manager = NDManager.newBaseManager();
    private long teacherNanos;

    public OnlineTeacherFeed(FeatureModel teacher, InputNormalization norm, List<FeatureBatch> batches) {
        this.teacher = teacher;
        this.norm = norm;
        this.inputs = new MemoryFeed(batches, Map.of(), 0);
    }

    /** Time spent in the teacher so far. */
    public long teacherNanos() {
        return teacherNanos;
    }

    @Override
    public Item take(Duration timeout) {
        Fetched item = (Fetched) inputs.take(timeout);
        if (item == null) {
            return null;
        }
        FeatureBatch b = item.batch();
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
        return new Fetched(item.partition(), item.offset(), item.pass(), item.key(), withTeacher, null);
    }

    @Override
    public Map<Integer, Long> endOffsets() {
        return inputs.endOffsets();
    }

    @Override
    public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
        return inputs.commit(offsets);
    }

    @Override
    public void rewind(int newPass) {
        inputs.rewind(newPass);
    }

    @Override
    public void close() {
        manager.close();
    }
}
