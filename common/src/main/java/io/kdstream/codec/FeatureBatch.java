package io.kdstream.codec;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import io.kdstream.codec.InvalidBatchException.Reason;

/**
 * One training batch as it travels on {@code <run>.features}: normalized teacher features and
 * everything the student needs to train on exactly that batch (DESIGN.md §4). One record is one
 * batch because {@code batch} and {@code whiten} normalization depend on batch composition.
 *
 * @param teacherFeatures [B, d_t], F32, F16 or BF16
 * @param teacherLogits   optional [B, C], floating
 * @param labels          [B] class indices
 * @param sampleIds       [B] stable dataset sample ids
 * @param augSeeds        [B] per-sample augmentation seeds (reference mode re-applies them)
 * @param inputs          optional [B, C, H, W], U8 or F32 (inline mode)
 * @param featureScales   [B] F32 per-sample scales when teacherFeatures is I8 ({@link Int8Features}),
 *                        else null
 * @param views           optional per-sample input checksums, crop boxes and flips ({@link SampleViews})
 */
public record FeatureBatch(BatchMetadata metadata, Tensor teacherFeatures, Tensor teacherLogits,
                           long[] labels, long[] sampleIds, long[] augSeeds, Tensor inputs, Tensor featureScales,
                           SampleViews views) {

    public static final String TEACHER_FEATURES = "teacher_features";
    public static final String TEACHER_LOGITS = "teacher_logits";
    public static final String LABELS = "labels";
    public static final String SAMPLE_IDS = "sample_ids";
    public static final String AUG_SEEDS = "aug_seeds";
    public static final String INPUTS = "inputs";
    public static final String TEACHER_FEATURE_SCALES = "teacher_feature_scales";

    private static final Set<DType> FEATURE_DTYPES = Set.of(DType.F32, DType.F16, DType.BF16, DType.I8);
    private static final Set<DType> LOGIT_DTYPES = Set.of(DType.F32, DType.F16, DType.BF16);
    private static final Set<DType> INPUT_DTYPES = Set.of(DType.U8, DType.F32);

    /** A batch without {@link SampleViews}. */
    public FeatureBatch(BatchMetadata metadata, Tensor teacherFeatures, Tensor teacherLogits,
                        long[] labels, long[] sampleIds, long[] augSeeds, Tensor inputs, Tensor featureScales) {
        this(metadata, teacherFeatures, teacherLogits, labels, sampleIds, augSeeds, inputs, featureScales, null);
    }

    /** A batch of floating features (no scales). */
    public FeatureBatch(BatchMetadata metadata, Tensor teacherFeatures, Tensor teacherLogits,
                        long[] labels, long[] sampleIds, long[] augSeeds, Tensor inputs) {
        this(metadata, teacherFeatures, teacherLogits, labels, sampleIds, augSeeds, inputs, null);
    }

    /**
     * @throws InvalidBatchException if tensors have the wrong rank or dtype or disagree on the batch
     *                               size, or I8 features come without scales (or others with)
     */
    public FeatureBatch {
        Objects.requireNonNull(metadata, "metadata");
        require(teacherFeatures, TEACHER_FEATURES);
        Objects.requireNonNull(labels, LABELS);
        Objects.requireNonNull(sampleIds, SAMPLE_IDS);
        Objects.requireNonNull(augSeeds, AUG_SEEDS);
        checkTensor(teacherFeatures, TEACHER_FEATURES, 2, FEATURE_DTYPES);
        int b = teacherFeatures.dim(0);
        if (teacherLogits != null) {
            checkTensor(teacherLogits, TEACHER_LOGITS, 2, LOGIT_DTYPES);
            checkBatch(TEACHER_LOGITS, teacherLogits.dim(0), b);
        }
        if (inputs != null) {
            checkTensor(inputs, INPUTS, 4, INPUT_DTYPES);
            checkBatch(INPUTS, inputs.dim(0), b);
        }
        if (teacherFeatures.dtype() == DType.I8) {
            if (featureScales == null) {
                throw new InvalidBatchException(Reason.MISSING_TENSOR, "I8 teacher_features need tensor '"
                        + TEACHER_FEATURE_SCALES + "'");
            }
            checkTensor(featureScales, TEACHER_FEATURE_SCALES, 1, Set.of(DType.F32));
            checkBatch(TEACHER_FEATURE_SCALES, featureScales.dim(0), b);
        } else if (featureScales != null) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "'" + TEACHER_FEATURE_SCALES
                    + "' only goes with I8 teacher_features, not " + teacherFeatures.dtype());
        }
        checkBatch(LABELS, labels.length, b);
        checkBatch(SAMPLE_IDS, sampleIds.length, b);
        checkBatch(AUG_SEEDS, augSeeds.length, b);
        if (views != null) {
            checkBatch(SampleViews.INPUT_CHECKSUMS, views.size(), b);
        }
    }

    public Optional<SampleViews> sampleViews() {
        return Optional.ofNullable(views);
    }

    /** Batch size B. */
    public int batchSize() {
        return teacherFeatures.dim(0);
    }

    /** Teacher feature dimension d_t. */
    public int featureDim() {
        return teacherFeatures.dim(1);
    }

    /** The teacher features as row-major float32, dequantized when they are I8. */
    public float[] featureFloats() {
        return featureScales != null ? Int8Features.dequantize(teacherFeatures, featureScales)
                : teacherFeatures.toFloats();
    }

    public Optional<Tensor> logits() {
        return Optional.ofNullable(teacherLogits);
    }

    public Optional<Tensor> inlineInputs() {
        return Optional.ofNullable(inputs);
    }

    public String recordKey() {
        return metadata.recordKey();
    }

    /** The safetensors encoding of this batch. */
    public byte[] encode() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(TEACHER_FEATURES, teacherFeatures);
        if (featureScales != null) {
            t.put(TEACHER_FEATURE_SCALES, featureScales);
        }
        if (teacherLogits != null) {
            t.put(TEACHER_LOGITS, teacherLogits);
        }
        int[] b = {batchSize()};
        t.put(LABELS, Tensor.ofLongs(b, labels));
        t.put(SAMPLE_IDS, Tensor.ofLongs(b, sampleIds));
        t.put(AUG_SEEDS, Tensor.ofLongs(b, augSeeds));
        if (inputs != null) {
            t.put(INPUTS, inputs);
        }
        if (views != null) {
            views.putTensors(t);
        }
        return SafeTensors.encode(t, metadata.toMap());
    }

    /**
     * Decodes and structurally validates a record value (not against a manifest: see
     * {@link FeatureBatchValidator}). The batch's tensors are views of {@code value} (no copy),
     * which must not be modified afterwards.
     *
     * @throws InvalidBatchException with a machine-readable reason
     */
    public static FeatureBatch decode(byte[] value) {
        SafeTensors.Contents c = SafeTensors.decode(value);
        Map<String, Tensor> t = c.tensors();
        BatchMetadata meta = BatchMetadata.fromMap(c.metadata());
        for (String name : t.keySet()) {
            if (!Set.of(TEACHER_FEATURES, TEACHER_LOGITS, LABELS, SAMPLE_IDS, AUG_SEEDS, INPUTS,
                    TEACHER_FEATURE_SCALES, SampleViews.INPUT_CHECKSUMS, SampleViews.CROP_BOXES, SampleViews.FLIPS)
                    .contains(name)) {
                throw new InvalidBatchException(Reason.MALFORMED_HEADER, "unexpected tensor '" + name + "'");
            }
        }
        return new FeatureBatch(meta, require(t.get(TEACHER_FEATURES), TEACHER_FEATURES), t.get(TEACHER_LOGITS),
                ids(t, LABELS), ids(t, SAMPLE_IDS), ids(t, AUG_SEEDS), t.get(INPUTS),
                t.get(TEACHER_FEATURE_SCALES), SampleViews.fromTensors(t));
    }

    private static long[] ids(Map<String, Tensor> t, String name) {
        Tensor x = require(t.get(name), name);
        checkTensor(x, name, 1, Set.of(DType.I64));
        return x.toLongs();
    }

    private static Tensor require(Tensor t, String name) {
        if (t == null) {
            throw new InvalidBatchException(Reason.MISSING_TENSOR, "required tensor '" + name + "' is missing");
        }
        return t;
    }

    private static void checkTensor(Tensor t, String name, int rank, Set<DType> dtypes) {
        if (!dtypes.contains(t.dtype())) {
            throw new InvalidBatchException(Reason.UNKNOWN_DTYPE, "tensor '" + name + "' has dtype " + t.dtype()
                    + ", expected one of " + dtypes);
        }
        if (t.rank() != rank) {
            throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "tensor '" + name + "' has shape "
                    + Arrays.toString(t.shape()) + ", expected rank " + rank);
        }
    }

    private static void checkBatch(String name, int size, int batch) {
        if (size != batch) {
            throw new InvalidBatchException(Reason.BATCH_SIZE_MISMATCH, "tensor '" + name + "' has " + size
                    + " rows but teacher_features has " + batch);
        }
    }

    // Arrays make the generated equals/hashCode identity-based; compare contents instead.
    @Override
    public boolean equals(Object o) {
        return o instanceof FeatureBatch f && metadata.equals(f.metadata)
                && teacherFeatures.equals(f.teacherFeatures) && Objects.equals(teacherLogits, f.teacherLogits)
                && Arrays.equals(labels, f.labels) && Arrays.equals(sampleIds, f.sampleIds)
                && Arrays.equals(augSeeds, f.augSeeds) && Objects.equals(inputs, f.inputs)
                && Objects.equals(featureScales, f.featureScales) && Objects.equals(views, f.views);
    }

    @Override
    public int hashCode() {
        return Objects.hash(metadata, teacherFeatures, teacherLogits, Arrays.hashCode(labels),
                Arrays.hashCode(sampleIds), Arrays.hashCode(augSeeds), inputs, featureScales, views);
    }

    @Override
    public String toString() {
        return "FeatureBatch[" + metadata.runId() + " " + recordKey() + ", B=" + batchSize() + ", d_t="
                + featureDim() + ", " + teacherFeatures.dtype() + (teacherLogits != null ? ", logits" : "")
                + (inputs != null ? ", inputs " + Arrays.toString(inputs.shape()) : "") + "]";
    }
}
