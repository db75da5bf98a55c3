package io.kdstream.benchmarks.feed;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.InputNormalization;
import io.kdstream.vkd.Normalization;
import io.kdstream.data.AugmentPolicy;

/**
 * Demo-shaped runs and batches for benchmarks: 28×28×1 images inline (u8), f16 teacher features
 * (random, roughly layer-normalized), 10 logits. Only the sizes matter to what is timed.
 */
public final class SyntheticBatches {

    private SyntheticBatches() {
    }

    /** Fashion-MNIST's mean and standard deviation, as the demo's student normalizes its inputs. */
    public static InputNormalization inputNormalization() {
        return new InputNormalization(new float[] {0.2860f}, new float[] {0.3530f});
    }

    /** One epoch of {@code batches} batches of {@code batchSize}, d_t = {@code teacherDim}. */
    public static RunSpec spec(String runId, int batchSize, int teacherDim, int batches) {
        return RunSpec.builder().setRunId(runId).setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher("bench-teacher", "pool").setFeatures(teacherDim, Normalization.LAYER, DType.F16)
                .optLogitClasses(10)
                .optAugmentation(AugmentPolicy.parse("flip")).setStream(batchSize, batches, 1, 7L).build();
    }

    /** Every batch of the run's one epoch, with inputs. */
    public static List<FeatureBatch> batches(RunSpec run) {
        List<FeatureBatch> out = new ArrayList<>();
        for (int i = 0; i < run.batchesPerEpoch(); i++) {
            out.add(batch(run, i, run.batchSize(), run.featureDim(), true));
        }
        return out;
    }

    /** Batch {@code index}: the same for the same index; {@code inputs} false leaves the images out. */
    public static FeatureBatch batch(RunSpec run, int index, int b, int dim, boolean inputs) {
        Random r = new Random(index);
        float[] f = new float[b * dim];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        float[] logits = new float[b * 10];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (3 * r.nextGaussian());
        }
        long[] labels = new long[b];
        long[] ids = new long[b];
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            labels[i] = r.nextInt(10);
            ids[i] = (long) index * b + i;
            seeds[i] = r.nextLong();
        }
        byte[] pixels = new byte[b * 28 * 28];
        r.nextBytes(pixels);
        return new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, run.runId(), 0, index, run.teacherId(),
                run.normalization(), "bench"), Tensor.ofFloats(DType.F16, new int[] {b, dim}, f),
                Tensor.ofFloats(DType.F32, new int[] {b, 10}, logits), labels, ids, seeds,
                inputs ? Tensor.ofUnsignedBytes(new int[] {b, 1, 28, 28}, pixels) : null);
    }
}
