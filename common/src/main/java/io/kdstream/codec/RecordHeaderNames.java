package io.kdstream.codec;

/** Header names on kdstream records: batch facts for routing, and DLQ provenance. */
public final class RecordHeaderNames {

    public static final String RUN = "kdstream.run";
    public static final String EPOCH = "kdstream.epoch";
    public static final String BATCH = "kdstream.batch";
    public static final String SCHEMA = "kdstream.schema";
    public static final String TEACHER = "kdstream.teacher";
    /** SHA-256 of the run's calibrated whitening, on records of {@code whiten} runs only. */
    public static final String WHITENING = "kdstream.whitening";

    /** Why a record was sent to the DLQ ({@link InvalidBatchException.Reason#tag()}). */
    public static final String DLQ_REASON = "kdstream.dlq.reason";
    /** The human-readable detail of the rejection. */
    public static final String DLQ_DETAIL = "kdstream.dlq.detail";
    public static final String DLQ_SOURCE_TOPIC = "kdstream.dlq.source.topic";
    public static final String DLQ_SOURCE_PARTITION = "kdstream.dlq.source.partition";
    public static final String DLQ_SOURCE_OFFSET = "kdstream.dlq.source.offset";
    /** Size of a value too large to forward to the DLQ with these headers (the DLQ record's value is then null). */
    public static final String DLQ_VALUE_OMITTED = "kdstream.dlq.value.omitted";
    /** Which consumer (group) rejected it. */
    public static final String DLQ_CONSUMER = "kdstream.dlq.consumer";

    private RecordHeaderNames() {
    }
}
