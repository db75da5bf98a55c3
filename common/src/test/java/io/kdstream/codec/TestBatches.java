package io.kdstream.codec;

import java.util.List;
import java.util.Random;
import io.kdstream.vkd.Normalization;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.manifest.RunSpec;

/** Deterministic example manifests and batches for codec and Kafka tests. */
public final class TestBatches {

    private TestBatches() {
    }

    public static RunSpec spec(String runId, int featureDim, int logitClasses, InputMode mode) {
        return RunSpec.builder().setRunId(runId)
                .setSource("fashion-mnist/train?limit=512&seed=7", 10, List.of(1, 28, 28))
                .setTeacher("teacher-sha256-abc", "pool")
                .setFeatures(featureDim, Normalization.LAYER, DType.F16).optLogitClasses(logitClasses)
                .optInputMode(mode).optAugmentation(AugmentPolicy.parse("crop+flip")).setStream(8, 4, 2, 7L)
                .build();
    }

    /** A batch that satisfies {@code spec}, with values drawn from {@code seed}. */
    public static FeatureBatch batch(RunSpec spec, int epoch, int batchIndex, long seed) {
        Random r = new Random(seed);
        int b = spec.batchSize();
        float[] f = new float[b * spec.featureDim()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        Tensor logits = null;
        if (spec.logitClasses() > 0) {
            float[] l = new float[b * spec.logitClasses()];
            for (int i = 0; i < l.length; i++) {
                l[i] = (float) (3 * r.nextGaussian());
            }
            logits = Tensor.ofFloats(DType.F32, new int[] {b, spec.logitClasses()}, l);
        }
        long[] labels = new long[b];
        long[] ids = new long[b];
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            labels[i] = r.nextInt(spec.numClasses());
            ids[i] = (long) batchIndex * b + i;
            seeds[i] = r.nextLong();
        }
        Tensor inputs = null;
        if (spec.inputMode() == InputMode.INLINE) {
            List<Integer> s = spec.inputShape();
            byte[] px = new byte[b * s.get(0) * s.get(1) * s.get(2)];
            r.nextBytes(px);
            inputs = Tensor.ofUnsignedBytes(new int[] {b, s.get(0), s.get(1), s.get(2)}, px);
        }
        BatchMetadata meta = new BatchMetadata(RunSpec.SCHEMA_VERSION, spec.runId(), epoch, batchIndex,
                spec.teacherId(), spec.normalization(), "teacher-test");
        if (spec.featureDtype() == DType.I8) {
            Int8Features.Quantized q = Int8Features.quantize(f, b, spec.featureDim());
            return new FeatureBatch(meta, q.values(), logits, labels, ids, seeds, inputs, q.scales());
        }
        return new FeatureBatch(meta, Tensor.ofFloats(spec.featureDtype(), new int[] {b, spec.featureDim()}, f),
                logits, labels, ids, seeds, inputs);
    }
}
