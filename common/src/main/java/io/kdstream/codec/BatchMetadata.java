package io.kdstream.codec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import io.kdstream.codec.InvalidBatchException.Reason;
import io.kdstream.vkd.Normalization;

/**
 * The facts in a batch's safetensors {@code __metadata__}; the same facts travel as record
 * headers (see {@link FeatureBatchSerializer}) so a consumer can route or drop a record
 * without decoding it.
 *
 * @param whiteningSha256 SHA-256 of the run's calibrated whitening ({@link WhiteningRef}) the
 *                        features were whitened with, null for other normalizations; optional in
 *                        the wire format, so records written before it existed still decode
 */
public record BatchMetadata(int schemaVersion, String runId, int epoch, int batchIndex, String teacherId,
                            Normalization normalization, String producerId, String whiteningSha256) {

    /** The wire schema version this build writes and reads (the manifest's {@code schema_version} too). */
    public static final int CURRENT_SCHEMA_VERSION = 1;

    public static final String SCHEMA_VERSION = "schema_version";
    public static final String RUN_ID = "run_id";
    public static final String EPOCH = "epoch";
    public static final String BATCH_INDEX = "batch_index";
    public static final String TEACHER_ID = "teacher_id";
    public static final String NORMALIZATION = "normalization";
    public static final String PRODUCER_ID = "producer_id";
    public static final String WHITENING_SHA256 = "whitening_sha256";

    /** Metadata of a batch that is not whitened with a calibrated whitening. */
    public BatchMetadata(int schemaVersion, String runId, int epoch, int batchIndex, String teacherId,
                         Normalization normalization, String producerId) {
        this(schemaVersion, runId, epoch, batchIndex, teacherId, normalization, producerId, null);
    }

    public BatchMetadata {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(teacherId, "teacherId");
        Objects.requireNonNull(normalization, "normalization");
        Objects.requireNonNull(producerId, "producerId");
        if (epoch < 0 || batchIndex < 0) {
            throw new IllegalArgumentException("epoch and batch index must be >= 0, got " + epoch + "/" + batchIndex);
        }
    }

    /** Record key {@code <epoch>/<batch index>}. */
    public String recordKey() {
        return epoch + "/" + batchIndex;
    }

    Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SCHEMA_VERSION, Integer.toString(schemaVersion));
        m.put(RUN_ID, runId);
        m.put(EPOCH, Integer.toString(epoch));
        m.put(BATCH_INDEX, Integer.toString(batchIndex));
        m.put(TEACHER_ID, teacherId);
        m.put(NORMALIZATION, normalization.configName());
        m.put(PRODUCER_ID, producerId);
        if (whiteningSha256 != null) {
            m.put(WHITENING_SHA256, whiteningSha256);
        }
        return m;
    }

    static BatchMetadata fromMap(Map<String, String> m) {
        int schema = intField(m, SCHEMA_VERSION);
        if (schema != CURRENT_SCHEMA_VERSION) {
            throw new InvalidBatchException(Reason.BAD_METADATA, "schema_version " + schema
                    + " is not supported (this build reads " + CURRENT_SCHEMA_VERSION + ")");
        }
        int epoch = intField(m, EPOCH);
        int batch = intField(m, BATCH_INDEX);
        if (epoch < 0 || batch < 0) {
            throw new InvalidBatchException(Reason.BAD_METADATA, "negative epoch or batch index " + epoch + "/" + batch);
        }
        return new BatchMetadata(schema, field(m, RUN_ID), epoch, batch, field(m, TEACHER_ID),
                normalization(field(m, NORMALIZATION)), field(m, PRODUCER_ID), m.get(WHITENING_SHA256));
    }

    private static Normalization normalization(String name) {
        try {
            return Normalization.fromConfigName(name);
        } catch (IllegalArgumentException e) {
            throw new InvalidBatchException(Reason.BAD_METADATA, "metadata 'normalization': " + e.getMessage());
        }
    }

    private static String field(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new InvalidBatchException(Reason.MISSING_TENSOR, "metadata '" + key + "' is missing");
        }
        return v;
    }

    private static int intField(Map<String, String> m, String key) {
        String v = field(m, key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new InvalidBatchException(Reason.BAD_METADATA, "metadata '" + key + "' is not an integer: '" + v + "'");
        }
    }
}
