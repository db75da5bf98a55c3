package io.kdstream.teacher;

import io.kdstream.codec.FeatureBatch;

/**
 * Computes a run's feature batches: reads and augments the samples of a batch, runs the teacher
 * forward, pools and normalizes the features. Must be deterministic in (epoch, batch index), so a
 * work item redone after a crash yields the same batches.
 */
public interface FeatureSource extends AutoCloseable {

    FeatureBatch batch(int epoch, int batchIndex);

    /**
     * Hint that these batches come next, so an implementation can load them while the current
     * one runs through the teacher. The default does nothing.
     */
    default void prefetch(int epoch, int firstBatch, int count) {
    }

    @Override
    default void close() {
    }
}
