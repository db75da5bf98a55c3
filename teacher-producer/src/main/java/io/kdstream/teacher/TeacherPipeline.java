package io.kdstream.teacher;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.Int8Features;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.SampleViews;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.InputNormalization;
import io.kdstream.model.FeatureModel;
import io.kdstream.vkd.FeatureNormalizer;

/**
 * The real {@link FeatureSource}: seeded batch (shuffle + augmentation) → teacher forward without
 * gradients → pooled features → normalization (DESIGN.md §3) → the run's feature dtype. Loading
 * and augmenting the next batches runs on a background thread while the teacher computes
 * (a bounded pipeline: at most the current work item is read ahead).
 */
public final class TeacherPipeline implements FeatureSource {

    private final FeatureModel teacher;
    private final BatchSource batches;
    private final InputNormalization norm;
    private final FeatureNormalizer normalizer;
    private final RunSpec spec;
    private final String producerId;
    private final boolean logits;
    private final NDManager manager;
    private final TeacherMetrics metrics;
    private final ExecutorService loader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "kdstream-teacher-loader");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, CompletableFuture<Batch>> ahead = new LinkedHashMap<>();

    public TeacherPipeline(FeatureModel teacher, BatchSource batches, InputNormalization norm,
                           FeatureNormalizer normalizer, RunSpec spec, String producerId, TeacherMetrics metrics) {
        this(teacher, batches, norm, normalizer, spec, producerId, metrics, null);
    }

    /**
     * A pipeline whose batch arrays live on {@code device} (null: the engine's default), the
     * device the teacher was loaded on; only the features and logits come back to the host.
     */
    public TeacherPipeline(FeatureModel teacher, BatchSource batches, InputNormalization norm,
                           FeatureNormalizer normalizer, RunSpec spec, String producerId, TeacherMetrics metrics,
                           Device device) {
        this.teacher = teacher;
        this.batches = batches;
        this.norm = norm;
        this.normalizer = normalizer;
        this.spec = spec;
        this.producerId = producerId;
        this.logits = spec.logitClasses() > 0;
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        this.metrics = metrics;
    }

    @Override
    public synchronized void prefetch(int epoch, int firstBatch, int count) {
        for (int i = 0; i < count; i++) {
            int b = firstBatch + i;
            ahead.computeIfAbsent(epoch + "/" + b,
                    k -> CompletableFuture.supplyAsync(() -> batches.batch(epoch, b), loader));
        }
    }

    @Override
    public FeatureBatch batch(int epoch, int batchIndex) {
        Batch data = load(epoch, batchIndex);
        int b = data.size();
        float[] features;
        float[] logitValues = null;
        long t0 = System.nanoTime();
        try (NDManager step = manager.newSubManager()) {
            NDArray x = data.toModelInput(step, norm);
            NDList out = teacher.forward(x);
            NDArray f = normalizer.normalize(out.get(0).toType(DataType.FLOAT32, false));
            features = f.toFloatArray();
            if (logits) {
                if (out.size() < 2) {
                    throw new IllegalStateException("the run publishes logits but teacher " + teacher.card().arch()
                            + " has no logits output");
                }
                logitValues = out.get(1).toType(DataType.FLOAT32, false).toFloatArray();
            }
            out.forEach(NDArray::close);
        }
        metrics.forward().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        Tensor inputs = spec.inputMode() == InputMode.INLINE
                ? new Tensor(DType.U8, new int[] {b, data.channels(), data.height(), data.width()}, data.inputs().clone())
                : null;
        Tensor featureTensor;
        Tensor scales = null;
        if (spec.featureDtype() == DType.I8) {
            Int8Features.Quantized q = Int8Features.quantize(features, b, spec.featureDim());
            featureTensor = q.values();
            scales = q.scales();
        } else {
            featureTensor = Tensor.ofFloats(spec.featureDtype(), new int[] {b, spec.featureDim()}, features);
        }
        return new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, spec.runId(), epoch, batchIndex,
                spec.teacherId(), spec.normalization(), producerId,
                spec.whitening() != null ? spec.whitening().sha256() : null),
                featureTensor,
                logitValues == null ? null : Tensor.ofFloats(DType.F32, new int[] {b, spec.logitClasses()}, logitValues),
                data.labels().clone(), data.sampleIds().clone(), data.augSeeds().clone(), inputs, scales,
                // reference mode: what the teacher saw, for the student to check its rebuilt inputs against
                spec.inputMode() == InputMode.REFERENCE
                        ? new SampleViews(data.inputChecksums(), data.cropBoxes(), data.flips()) : null);
    }

    private Batch load(int epoch, int batchIndex) {
        CompletableFuture<Batch> f;
        synchronized (this) {
            f = ahead.remove(epoch + "/" + batchIndex);
        }
        if (f == null) {
            return batches.batch(epoch, batchIndex);
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while loading batch " + epoch + "/" + batchIndex, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("loading batch " + epoch + "/" + batchIndex + " failed: "
                    + e.getCause().getMessage(), e.getCause());
        }
    }

    @Override
    public void close() {
        loader.shutdownNow();
        manager.close();
    }
}
