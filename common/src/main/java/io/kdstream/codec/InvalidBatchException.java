package io.kdstream.codec;

import java.util.Locale;
import java.util.Objects;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record value that cannot be decoded or fails validation. {@link #reason()} is
 * machine-readable: it becomes the DLQ header and the {@code reason} tag of
 * {@code kdstream_student_dlq_records_total}.
 */
public class InvalidBatchException extends SerializationException {

    private static final long serialVersionUID = 1L;

    /** Why a value was rejected. */
    public enum Reason {
        /** Shorter than the 8-byte header length, or its tensors' data is cut off. */
        TRUNCATED,
        /** The header length points beyond the value or exceeds the header limit. */
        HEADER_LENGTH,
        /** The JSON header does not parse or does not have the safetensors structure. */
        MALFORMED_HEADER,
        /** A tensor uses a dtype this codec does not know, or one not allowed for that tensor. */
        UNKNOWN_DTYPE,
        /** A tensor's byte range does not match its dtype and shape, or its rank is wrong. */
        SHAPE_MISMATCH,
        /** Data offsets overlap, leave holes, or lie outside the data section. */
        BAD_OFFSETS,
        /** A required tensor or metadata entry is absent. */
        MISSING_TENSOR,
        /** Metadata present but unusable (wrong type, not a number, unknown schema version). */
        BAD_METADATA,
        /** Tensors disagree on the batch size. */
        BATCH_SIZE_MISMATCH,
        /** Dimensions, teacher id, run id or normalization differ from the run's manifest. */
        MANIFEST_MISMATCH,
        /** Teacher features or logits contain NaN or infinity, or an int8 scale is not positive and finite. */
        NON_FINITE;

        /** Lower-case form used in headers and metric tags. */
        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Reason reason;

    public InvalidBatchException(Reason reason, String message) {
        super(reason.tag() + ": " + message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
