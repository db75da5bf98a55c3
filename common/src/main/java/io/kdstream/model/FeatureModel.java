package io.kdstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * A network seen as a feature extractor, the one thing the teacher-producer needs from a teacher
 * (DJL zoo block or TorchScript file alike) and the student-trainer from a student at eval time.
 * Inference only: outputs are attached to the input's manager, so callers free them by closing
 * their per-step sub-manager.
 */
public interface FeatureModel extends AutoCloseable {

    /** Description: architecture, dimensions, dataset, accuracy and the id (SHA-256 of the weights). */
    ModelCard card();

    /** Pooled penultimate features then logits (when the model has a classifier): [B, d], [B, classes]. */
    NDList forward(NDArray x);

    default NDArray features(NDArray x) {
        return forward(x).get(0);
    }

    default NDArray logits(NDArray x) {
        NDList out = forward(x);
        if (out.size() < 2) {
            throw new UnsupportedOperationException("model " + card().arch() + " has no logits output");
        }
        return out.get(1);
    }

    default int featureDim() {
        return card().featureDim();
    }

    /** The teacher id of RunSpec: SHA-256 (hex) of the parameter file. */
    default String id() {
        return card().parametersSha256();
    }

    @Override
    void close();
}
