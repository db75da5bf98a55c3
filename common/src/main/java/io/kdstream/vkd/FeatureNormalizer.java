package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;

/**
 * Teacher-side normalization of a batch of features [B, d_t] before they are published. No
 * gradients flow through it. The result has the input's dtype and is attached to its manager.
 */
public interface FeatureNormalizer {

    /** Normalizes one training batch; batch-dependent normalizers see exactly this batch. */
    NDArray normalize(NDArray features);

    /** The normalization this normalizer implements (recorded in the run manifest). */
    Normalization kind();
}
