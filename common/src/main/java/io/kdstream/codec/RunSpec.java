package io.kdstream.codec;

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
 * @param normalization   teacher-side normalization: layer, batch, whiten or none
 * @param featureDtype    F32, F16, BF16 or I8 (per-row scaled, {@link Int8Features})
 * @param inputMode       inline or reference (DESIGN.md §5)
 * @param augmentation    augmentation policy name
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
                      String normalization, DType featureDtype, InputMode inputMode, String augmentation,
                      int batchSize, int epochs, int batchesPerEpoch, long seed,
                      // absent from older manifests, which still load (null) and keep their canonical JSON and digest
                      @JsonInclude(JsonInclude.Include.NON_NULL) List<Float> inputMean,
                      @JsonInclude(JsonInclude.Include.NON_NULL) List<Float> inputStd,
                      @JsonInclude(JsonInclude.Include.NON_NULL) WhiteningRef whitening) {

    /** The schema version this build writes and reads. */
    public static final int SCHEMA_VERSION = 1;

    /** Normalizations a run may declare (DESIGN.md §3). */
    public static final Set<String> NORMALIZATIONS = Set.of("layer", "batch", "whiten", "whiten-batch", "none");

    /** Fields an older manifest may lack. */
    private static final Set<String> OPTIONAL = Set.of("inputMean", "inputStd", "whitening");

    /** Kafka topic names allow these characters; the run id prefixes four topics. */
    private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** A spec that does not record its input normalization (as manifests before it was recorded). */
    public RunSpec(int schemaVersion, String runId, String datasetId, String teacherId, String featureLayer,
                   int featureDim, int logitClasses, int numClasses, List<Integer> inputShape,
                   String normalization, DType featureDtype, InputMode inputMode, String augmentation,
                   int batchSize, int epochs, int batchesPerEpoch, long seed) {
        this(schemaVersion, runId, datasetId, teacherId, featureLayer, featureDim, logitClasses, numClasses,
                inputShape, normalization, featureDtype, inputMode, augmentation, batchSize, epochs, batchesPerEpoch,
                seed, null, null, null);
    }

    /** A spec without a whitening reference (any normalization but {@code whiten}). */
    public RunSpec(int schemaVersion, String runId, String datasetId, String teacherId, String featureLayer,
                   int featureDim, int logitClasses, int numClasses, List<Integer> inputShape,
                   String normalization, DType featureDtype, InputMode inputMode, String augmentation,
                   int batchSize, int epochs, int batchesPerEpoch, long seed, List<Float> inputMean,
                   List<Float> inputStd) {
        this(schemaVersion, runId, datasetId, teacherId, featureLayer, featureDim, logitClasses, numClasses,
                inputShape, normalization, featureDtype, inputMode, augmentation, batchSize, epochs, batchesPerEpoch,
                seed, inputMean, inputStd, null);
    }

    /** @throws IllegalArgumentException naming the first invalid field */
    @JsonCreator
    public RunSpec {
        if (runId == null || !RUN_ID.matcher(runId).matches()) {
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
        if (!NORMALIZATIONS.contains(normalization)) {
            throw new IllegalArgumentException("normalization '" + normalization + "' is not one of " + NORMALIZATIONS);
        }
        if (featureDtype != DType.F32 && featureDtype != DType.F16 && featureDtype != DType.BF16
                && featureDtype != DType.I8) {
            throw new IllegalArgumentException("feature_dtype must be F32, F16, BF16 or I8, got " + featureDtype);
        }
        Objects.requireNonNull(inputMode, "input_mode");
        requireText(augmentation, "augmentation");
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
        if (whitening != null && !"whiten".equals(normalization)) {
            throw new IllegalArgumentException("whitening goes only with normalization whiten, not " + normalization);
        }
    }

    /** This spec recording the input normalization {@code mean} and {@code std} (per channel). */
    public RunSpec withInputNormalization(float[] mean, float[] std) {
        return new RunSpec(schemaVersion, runId, datasetId, teacherId, featureLayer, featureDim, logitClasses,
                numClasses, inputShape, normalization, featureDtype, inputMode, augmentation, batchSize, epochs,
                batchesPerEpoch, seed, boxed(mean), boxed(std), whitening);
    }

    /** This spec with the calibrated whitening {@code ref} ({@code normalization = whiten}). */
    public RunSpec withWhitening(WhiteningRef ref) {
        return new RunSpec(schemaVersion, runId, datasetId, teacherId, featureLayer, featureDim, logitClasses,
                numClasses, inputShape, normalization, featureDtype, inputMode, augmentation, batchSize, epochs,
                batchesPerEpoch, seed, inputMean, inputStd, ref);
    }

    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
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
                    diffs.add(new FieldDifference(
                            PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(c.getName()), mine, theirs));
                }
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read RunSpec." + c.getName(), e);
            }
        }
        return diffs;
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
