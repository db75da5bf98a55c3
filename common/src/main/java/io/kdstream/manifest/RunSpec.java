package io.kdstream.manifest;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.kdstream.data.AugmentPolicy;
import io.kdstream.vkd.Normalization;
import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;

/**
 * The immutable description of a run: one teacher stream (DESIGN.md §1). Published once to the
 * compacted topic {@code <run>.manifest}; teachers and students compare their configuration with
 * it and refuse to start on any difference ({@link #differencesFrom}).
 *
 * @param schemaVersion   wire schema version of the feature batches ({@link #SCHEMA_VERSION})
 * @param runId           run name, also the topic prefix
 * @param datasetId       dataset and subset, e.g. {@code fashion-mnist/train?limit=5000&seed=7}
 * @param teacherId       SHA-256 of the teacher's parameters
 * @param featureLayer    which teacher layer the features come from
 * @param featureDim      d_t
 * @param logitClasses    number of teacher logits published per sample, 0 when none are
 * @param numClasses      number of label classes
 * @param inputShape      one sample's input shape [C, H, W]
 * @param normalization   teacher-side normalization (its wire name: layer, batch, whiten, whiten-batch, none)
 * @param featureDtype    F32, F16, BF16 or I8 (per-row scaled, {@link Int8Features})
 * @param inputMode       inline or reference (DESIGN.md §5)
 * @param augmentation    augmentation policy (its canonical spec, e.g. {@code crop+flip}, on the wire)
 * @param batchSize       samples per batch (the last batch of an epoch may be smaller)
 * @param epochs          teacher passes over the data
 * @param batchesPerEpoch batches in one epoch, so students know where epochs end
 * @param seed            run seed: shuffling and per-sample augmentation seeds derive from it
 * @param inputMean       per-channel mean of the input normalization {@code (x/255 - mean) / std} the
 *                        teacher applied, or null in a manifest written before it was recorded
 * @param inputStd        per-channel standard deviation of that normalization, null with {@code inputMean}
 * @param whitening       the calibrated whitening of a {@code whiten} run ({@link WhiteningRef}), else null
 */
public record RunSpec(int schemaVersion, String runId, String datasetId, String teacherId, String featureLayer,
                      int featureDim, int logitClasses, int numClasses, List<Integer> inputShape,
                      Normalization normalization, DType featureDtype, InputMode inputMode,
                      AugmentPolicy augmentation, int batchSize, int epochs, int batchesPerEpoch, long seed,
                      // absent from older manifests, which still load (null) and keep their canonical JSON and digest
                      @JsonInclude(JsonInclude.Include.NON_NULL) List<Float> inputMean,
                      @JsonInclude(JsonInclude.Include.NON_NULL) List<Float> inputStd,
                      @JsonInclude(JsonInclude.Include.NON_NULL) WhiteningRef whitening) {

    /** The schema version this build writes and reads. */
    public static final int SCHEMA_VERSION = BatchMetadata.CURRENT_SCHEMA_VERSION;

    /** Fields an older manifest may lack. */
    private static final Set<String> OPTIONAL = Set.of("inputMean", "inputStd", "whitening");

    /** Kafka topic names allow these characters; the run id prefixes four topics. */
    private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** Whether {@code runId} can name a run (1-200 characters of [A-Za-z0-9._-], as topic names allow). */
    public static boolean isRunId(String runId) {
        return runId != null && RUN_ID.matcher(runId).matches();
    }

    /** @throws IllegalArgumentException naming the first invalid field */
    @JsonCreator
    public RunSpec {
        if (!isRunId(runId)) {
            throw new IllegalArgumentException("run_id '" + runId + "' must be 1-200 characters of [A-Za-z0-9._-]");
        }
        requireText(datasetId, "dataset_id");
        requireText(teacherId, "teacher_id");
        requireText(featureLayer, "feature_layer");
        requirePositive(featureDim, "feature_dim");
        if (logitClasses < 0) {
            throw new IllegalArgumentException("logit_classes must be >= 0, got " + logitClasses);
        }
        requirePositive(numClasses, "num_classes");
        if (inputShape == null || inputShape.size() != 3 || inputShape.stream().anyMatch(d -> d == null || d <= 0)) {
            throw new IllegalArgumentException("input_shape must be [C, H, W] with positive sizes, got " + inputShape);
        }
        inputShape = List.copyOf(inputShape);
        Objects.requireNonNull(normalization, "normalization");
        if (featureDtype != DType.F32 && featureDtype != DType.F16 && featureDtype != DType.BF16
                && featureDtype != DType.I8) {
            throw new IllegalArgumentException("feature_dtype must be F32, F16, BF16 or I8, got " + featureDtype);
        }
        Objects.requireNonNull(inputMode, "input_mode");
        Objects.requireNonNull(augmentation, "augmentation");
        requirePositive(batchSize, "batch_size");
        requirePositive(epochs, "epochs");
        requirePositive(batchesPerEpoch, "batches_per_epoch");
        if ((inputMean == null) != (inputStd == null)) {
            throw new IllegalArgumentException("input_mean and input_std come together, got " + inputMean
                    + " and " + inputStd);
        }
        if (inputMean != null) {
            int c = inputShape.get(0);
            if (inputMean.size() != c || inputStd.size() != c) {
                throw new IllegalArgumentException("input_mean and input_std need one value per channel (" + c
                        + "), got " + inputMean + " and " + inputStd);
            }
            if (inputMean.stream().anyMatch(m -> m == null || !Float.isFinite(m))
                    || inputStd.stream().anyMatch(v -> v == null || !(v > 0) || !Float.isFinite(v))) {
                throw new IllegalArgumentException("input_mean must be finite and input_std positive, got "
                        + inputMean + " and " + inputStd);
            }
            inputMean = List.copyOf(inputMean);
            inputStd = List.copyOf(inputStd);
        }
        if (whitening != null && normalization != Normalization.WHITEN) {
            throw new IllegalArgumentException("whitening goes only with normalization whiten, not " + normalization);
        }
    }

    /** This spec recording the input normalization {@code mean} and {@code std} (per channel). */
    public RunSpec withInputNormalization(float[] mean, float[] std) {
        return toBuilder().optInputNormalization(mean, std).build();
    }

    /** This spec with the calibrated whitening {@code ref} ({@code normalization = whiten}). */
    public RunSpec withWhitening(WhiteningRef ref) {
        return toBuilder().optWhitening(ref).build();
    }

    /** A builder for a spec of this build's {@link #SCHEMA_VERSION}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this spec's fields, to derive a spec that differs in a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.schemaVersion = schemaVersion;
        b.runId = runId;
        b.datasetId = datasetId;
        b.teacherId = teacherId;
        b.featureLayer = featureLayer;
        b.featureDim = featureDim;
        b.logitClasses = logitClasses;
        b.numClasses = numClasses;
        b.inputShape = inputShape;
        b.normalization = normalization;
        b.featureDtype = featureDtype;
        b.inputMode = inputMode;
        b.augmentation = augmentation;
        b.batchSize = batchSize;
        b.epochs = epochs;
        b.batchesPerEpoch = batchesPerEpoch;
        b.seed = seed;
        b.inputMean = inputMean;
        b.inputStd = inputStd;
        b.whitening = whitening;
        return b;
    }

    /**
     * Builds a {@link RunSpec} by name instead of by position. Grouped as the manifest reads: what
     * the source is ({@link #setSource}), what the features are ({@link #setFeatures}), how the
     * stream is cut ({@link #setStream}); the compact constructor validates on {@link #build}.
     */
    public static final class Builder {
        private int schemaVersion = SCHEMA_VERSION;
        private String runId;
        private String datasetId;
        private String teacherId;
        private String featureLayer;
        private int featureDim;
        private int logitClasses;
        private int numClasses;
        private List<Integer> inputShape;
        private Normalization normalization;
        private DType featureDtype;
        private InputMode inputMode = InputMode.INLINE;
        private AugmentPolicy augmentation = AugmentPolicy.NONE;
        private int batchSize;
        private int epochs = 1;
        private int batchesPerEpoch;
        private long seed;
        private List<Float> inputMean;
        private List<Float> inputStd;
        private WhiteningRef whitening;

        private Builder() {
        }

        public Builder setRunId(String runId) {
            this.runId = runId;
            return this;
        }

        /** The source: dataset and subset, its label classes and one sample's input shape [C, H, W]. */
        public Builder setSource(String datasetId, int numClasses, List<Integer> inputShape) {
            this.datasetId = datasetId;
            this.numClasses = numClasses;
            this.inputShape = inputShape;
            return this;
        }

        /** The teacher: hash of its parameters and the layer the features come from. */
        public Builder setTeacher(String teacherId, String featureLayer) {
            this.teacherId = teacherId;
            this.featureLayer = featureLayer;
            return this;
        }

        /** The features: d_t, their normalization and wire dtype. */
        public Builder setFeatures(int featureDim, Normalization normalization, DType featureDtype) {
            this.featureDim = featureDim;
            this.normalization = normalization;
            this.featureDtype = featureDtype;
            return this;
        }

        /** The stream: batch size, batches per epoch, epochs and the run seed. */
        public Builder setStream(int batchSize, int batchesPerEpoch, int epochs, long seed) {
            this.batchSize = batchSize;
            this.batchesPerEpoch = batchesPerEpoch;
            this.epochs = epochs;
            this.seed = seed;
            return this;
        }

        /** Teacher logits published per sample (default 0: none). */
        public Builder optLogitClasses(int logitClasses) {
            this.logitClasses = logitClasses;
            return this;
        }

        /** How the student gets the augmented inputs (default inline). */
        public Builder optInputMode(InputMode inputMode) {
            this.inputMode = inputMode;
            return this;
        }

        /** The augmentation policy (default none). */
        public Builder optAugmentation(AugmentPolicy augmentation) {
            this.augmentation = augmentation;
            return this;
        }

        public Builder optInputNormalization(float[] mean, float[] std) {
            this.inputMean = boxed(mean);
            this.inputStd = boxed(std);
            return this;
        }

        public Builder optWhitening(WhiteningRef whitening) {
            this.whitening = whitening;
            return this;
        }

        /** Another wire schema version (tests of version checks). */
        public Builder optSchemaVersion(int schemaVersion) {
            this.schemaVersion = schemaVersion;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid field */
        public RunSpec build() {
            return new RunSpec(schemaVersion, runId, datasetId, teacherId, featureLayer, featureDim, logitClasses,
                    numClasses, inputShape, normalization, featureDtype, inputMode, augmentation, batchSize, epochs,
                    batchesPerEpoch, seed, inputMean, inputStd, whitening);
        }

        private static List<Float> boxed(float[] v) {
            if (v == null) {
                return null;
            }
            List<Float> out = new ArrayList<>(v.length);
            for (float f : v) {
                out.add(f);
            }
            return out;
        }
    }

    /** One field on which two specs disagree, named as in the manifest JSON. */
    public record FieldDifference(String field, Object manifest, Object configured) {
        @Override
        public String toString() {
            return field + ": manifest has " + manifest + ", configured " + configured;
        }
    }

    /**
     * Every field on which {@code configured} differs from this manifest, in declaration order;
     * empty when they match.
     */
    public List<FieldDifference> differencesFrom(RunSpec configured) {
        List<FieldDifference> diffs = new ArrayList<>();
        for (RecordComponent c : RunSpec.class.getRecordComponents()) {
            try {
                Object mine = c.getAccessor().invoke(this);
                Object theirs = c.getAccessor().invoke(configured);
                if (mine == null && OPTIONAL.contains(c.getName())) {
                    continue; // a manifest from before the field existed: nothing recorded to disagree with
                }
                if (!Objects.equals(mine, theirs)) {
                    diffs.add(new FieldDifference(PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE
                            .translate(c.getName()), wireName(mine), wireName(theirs)));
                }
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read RunSpec." + c.getName(), e);
            }
        }
        return diffs;
    }

    /** A normalization as the manifest and the options spell it ({@code layer}, not {@code LAYER}). */
    private static Object wireName(Object value) {
        return value instanceof Normalization n ? n.configName() : value;
    }

    /** Throws {@link ManifestMismatchException} naming every differing field. */
    public void requireMatches(RunSpec configured) {
        List<FieldDifference> diffs = differencesFrom(configured);
        if (!diffs.isEmpty()) {
            throw new ManifestMismatchException(runId, diffs);
        }
    }

    /** Canonical JSON (keys in a fixed order), the manifest record's value. */
    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode RunSpec", e);
        }
    }

    /** @throws IllegalArgumentException if the JSON is not a valid RunSpec */
    public static RunSpec fromJson(byte[] json) {
        try {
            return JSON.readValue(json, RunSpec.class);
        } catch (IOException e) {
            // Prefer the constructor's own message (it names the field) over Jackson's wrapper.
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String why = root instanceof IllegalArgumentException ? root.getMessage()
                    : e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("invalid run manifest: " + why, e);
        }
    }

    /** SHA-256 of the canonical JSON: equal specs have equal digests. */
    public String digest() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(toJson()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return new String(toJson(), StandardCharsets.UTF_8);
    }

    private static void requireText(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }

    private static void requirePositive(int v, String name) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + v);
        }
    }

}
