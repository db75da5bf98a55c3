package io.kdstream.teacher;

import java.util.Arrays;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.manifest.WhiteningRef;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.model.FeatureModel;
import io.kdstream.vkd.CalibratedWhitening;

/**
 * Estimates a run's {@link CalibratedWhitening} with the teacher: the calibration set is the first
 * {@link WhiteningRef#samples()} of the training split in the order epoch 0 of a run seeded
 * {@link WhiteningRef#seed()} visits them, without augmentation, forwarded in batches of the run's
 * batch size and accumulated in that order. The same teacher, data and settings on the same kind
 * of hardware give the same matrix bit for bit; teachers that join later read the published one.
 */
public final class WhiteningCalibrator {

    private static final Logger LOG = LoggerFactory.getLogger(WhiteningCalibrator.class);

    private WhiteningCalibrator() {
    }

    /** The default calibration size: 4 × d_t samples, at most the whole training split. */
    public static int defaultSamples(int featureDim, int trainSize) {
        return Math.min(4 * featureDim, trainSize);
    }

    public static CalibratedWhitening calibrate(FeatureModel teacher, ImageDataset train, InputNormalization norm,
                                                WhiteningRef ref, int batchSize) {
        return calibrate(teacher, train, norm, ref, batchSize, null);
    }

    /** As above, with the calibration batches on {@code device}, the teacher's (null: the engine's default). */
    public static CalibratedWhitening calibrate(FeatureModel teacher, ImageDataset train, InputNormalization norm,
                                                WhiteningRef ref, int batchSize, Device device) {
        if (ref.samples() > train.size()) {
            throw new IllegalArgumentException("whitening calibration wants " + ref.samples()
                    + " samples but the training split has " + train.size());
        }
        long t0 = System.nanoTime();
        int d = teacher.featureDim();
        BatchSource source = new BatchSource(train, ref.seed(), batchSize, AugmentPolicy.NONE);
        CalibratedWhitening.Accumulator acc = CalibratedWhitening.accumulator(d);
        try (NDManager manager = NDManager.newBaseManager(device, "PyTorch")) {
            for (int b = 0; acc.count() < ref.samples(); b++) {
                Batch batch = source.batch(0, b);
                float[] f;
                try (NDManager step = manager.newSubManager()) {
                    NDList out = teacher.forward(batch.toModelInput(step, norm));
                    f = out.get(0).toType(DataType.FLOAT32, false).toFloatArray();
                    out.forEach(NDArray::close);
                }
                int rows = (int) Math.min(batch.size(), ref.samples() - acc.count());
                acc.add(rows == batch.size() ? f : Arrays.copyOf(f, rows * d), rows);
            }
        }
        CalibratedWhitening w = acc.finish(ref.shrinkage());
        LOG.info("whitening calibrated on {} samples (d_t = {}, epsilon = {}) in {} s: sha256 {}", ref.samples(), d,
                w.epsilon(), (System.nanoTime() - t0) / 1_000_000_000L, w.sha256());
        return w;
    }
}
