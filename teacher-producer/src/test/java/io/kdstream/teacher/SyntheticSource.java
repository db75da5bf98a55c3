package io.kdstream.teacher;

import java.util.Random;
import java.util.function.IntPredicate;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;

/** Deterministic fake teacher: features are a pure function of (epoch, batch); can crash on cue. */
final class SyntheticSource implements FeatureSource {

    /** Stands in for the process dying: not an Exception, so nothing in the worker handles it. */
    static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;

        SimulatedCrash(String m) {
            super(m);
        }
    }

    private final RunSpec spec;
    private final String producerId;
    private final IntPredicate crashAtCall;
    private int calls;

    SyntheticSource(RunSpec spec, String producerId, IntPredicate crashAtCall) {
        this.spec = spec;
        this.producerId = producerId;
        this.crashAtCall = crashAtCall;
    }

    SyntheticSource(RunSpec spec, String producerId) {
        this(spec, producerId, call -> false);
    }

    static float[] features(RunSpec spec, int epoch, int batch) {
        Random r = new Random(31L * epoch + batch);
        float[] f = new float[spec.batchSize() * spec.featureDim()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    @Override
    public FeatureBatch batch(int epoch, int batchIndex) {
        if (crashAtCall.test(++calls)) {
            throw new SimulatedCrash(producerId + " crashed at call " + calls);
        }
        int b = spec.batchSize();
        long[] ids = new long[b];
        long[] labels = new long[b];
        long[] seeds = new long[b];
        for (int i = 0; i < b; i++) {
            ids[i] = (long) batchIndex * b + i;
            labels[i] = ids[i] % spec.numClasses();
            seeds[i] = epoch * 1_000_003L + ids[i];
        }
        return new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, spec.runId(), epoch, batchIndex,
                spec.teacherId(), spec.normalization(), producerId),
                Tensor.ofFloats(spec.featureDtype(), new int[] {b, spec.featureDim()}, features(spec, epoch, batchIndex)),
                null, labels, ids, seeds, null);
    }
}
