package io.kdstream.manifest;

import java.util.function.LongPredicate;

import io.kdstream.codec.InvalidBatchException.Reason;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.InvalidBatchException;

/**
 * Checks a decoded batch against its run's manifest: the student must never train on features
 * from another teacher, another normalization or another shape, nor on NaNs.
 */
public final class FeatureBatchValidator {

    private final RunSpec manifest;
    private final LongPredicate knownSampleId;

    public FeatureBatchValidator(RunSpec manifest) {
        this(manifest, id -> true);
    }

    private FeatureBatchValidator(RunSpec manifest, LongPredicate knownSampleId) {
        this.manifest = manifest;
        this.knownSampleId = knownSampleId;
    }

    /**
     * A validator that also rejects sample ids the consumer cannot resolve: a reference-mode
     * student rebuilds its inputs from these ids, so an unknown one must reach the DLQ, not the
     * training loop.
     */
    public FeatureBatchValidator withSampleIds(LongPredicate knownSampleId) {
        return new FeatureBatchValidator(manifest, knownSampleId);
    }

    /** @throws InvalidBatchException with reason MANIFEST_MISMATCH or NON_FINITE */
    public FeatureBatch validate(FeatureBatch batch) {
        BatchMetadata m = batch.metadata();
        mismatchIf(!m.runId().equals(manifest.runId()), "run_id", manifest.runId(), m.runId());
        mismatchIf(!m.teacherId().equals(manifest.teacherId()), "teacher_id", manifest.teacherId(), m.teacherId());
        mismatchIf(m.normalization() != manifest.normalization(), "normalization",
                manifest.normalization().configName(), m.normalization().configName());
        if (manifest.whitening() != null && manifest.whitening().sha256() != null) {
            // another whitening matrix means other targets: as wrong as another teacher
            mismatchIf(!manifest.whitening().sha256().equals(m.whiteningSha256()), "whitening_sha256",
                    manifest.whitening().sha256(), m.whiteningSha256() == null ? "absent" : m.whiteningSha256());
        }
        mismatchIf(batch.featureDim() != manifest.featureDim(), "feature_dim", manifest.featureDim(),
                batch.featureDim());
        mismatchIf(batch.teacherFeatures().dtype() != manifest.featureDtype(), "feature_dtype",
                manifest.featureDtype(), batch.teacherFeatures().dtype());
        mismatchIf(batch.batchSize() > manifest.batchSize() || batch.batchSize() == 0, "batch_size",
                "1.." + manifest.batchSize(), batch.batchSize());
        mismatchIf(m.epoch() >= manifest.epochs(), "epoch", "< " + manifest.epochs(), m.epoch());
        mismatchIf(m.batchIndex() >= manifest.batchesPerEpoch(), "batch_index",
                "< " + manifest.batchesPerEpoch(), m.batchIndex());
        int logits = batch.logits().map(t -> t.dim(1)).orElse(0);
        mismatchIf(logits != manifest.logitClasses(), "logit_classes", manifest.logitClasses(), logits);
        if (manifest.inputMode() == InputMode.INLINE) {
            mismatchIf(batch.inlineInputs().isEmpty(), "inputs", "present (inline mode)", "absent");
            batch.inlineInputs().ifPresent(in -> {
                for (int i = 0; i < 3; i++) {
                    mismatchIf(in.dim(i + 1) != manifest.inputShape().get(i), "input_shape",
                            manifest.inputShape(), java.util.Arrays.toString(in.shape()));
                }
            });
        } else {
            // a reference-mode consumer would train on inputs it did not expect, of any shape
            mismatchIf(batch.inlineInputs().isPresent(), "inputs", "absent (reference mode)", "present");
            for (long id : batch.sampleIds()) {
                mismatchIf(!knownSampleId.test(id), "sample_ids", "ids of " + manifest.datasetId(), id);
            }
        }
        for (long label : batch.labels()) {
            mismatchIf(label < 0 || label >= manifest.numClasses(), "labels",
                    "in 0.." + (manifest.numClasses() - 1), label);
        }
        if (!batch.teacherFeatures().allFinite()) {
            throw new InvalidBatchException(Reason.NON_FINITE, "teacher_features of " + batch.recordKey()
                    + " contain NaN or infinity");
        }
        if (batch.featureScales() != null) {
            float[] scales = batch.featureScales().toFloats();
            for (int i = 0; i < scales.length; i++) {
                if (!Float.isFinite(scales[i]) || !(scales[i] > 0)) {
                    throw new InvalidBatchException(Reason.NON_FINITE, "teacher_feature_scales of "
                            + batch.recordKey() + " has " + scales[i] + " at row " + i + " (must be positive and finite)");
                }
            }
        }
        if (batch.logits().map(t -> !t.allFinite()).orElse(false)) {
            throw new InvalidBatchException(Reason.NON_FINITE, "teacher_logits of " + batch.recordKey()
                    + " contain NaN or infinity");
        }
        return batch;
    }

    private static void mismatchIf(boolean differs, String field, Object expected, Object actual) {
        if (differs) {
            throw new InvalidBatchException(Reason.MANIFEST_MISMATCH, field + " is " + actual + ", manifest says "
                    + expected);
        }
    }
}
