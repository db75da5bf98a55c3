package io.kdstream.codec;

/** Record-size limits shared by the broker, producers and consumers (DESIGN.md §4). */
public final class RecordLimits {

    /** One feature batch may be up to this large (256 × 3024 fp16 is ~1.5 MB; inline inputs add more). */
    public static final int DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

    /** Headroom for record-batch framing, key and headers on top of the value. */
    public static final int BATCH_OVERHEAD_BYTES = 64 * 1024;

    private RecordLimits() {
    }
}
