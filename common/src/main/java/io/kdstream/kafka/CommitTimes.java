package io.kdstream.kafka;

import java.time.Instant;
import java.util.Optional;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;

/**
 * When a student committed its offsets. Kafka's admin API does not return a commit's timestamp,
 * so students put it in the commit's metadata string, where {@code kdstream runs} reads it (the
 * last commit time of a group, and the grace period of {@code runs delete}).
 */
public final class CommitTimes {

    private static final String PREFIX = "kdstream-committed-ms=";

    private CommitTimes() {
    }

    /** An offset commit stamped with {@code now}. */
    public static OffsetAndMetadata stamped(long offset, Instant now) {
        return new OffsetAndMetadata(offset, PREFIX + now.toEpochMilli());
    }

    /** The time a commit was stamped with, if it was. */
    public static Optional<Instant> of(OffsetAndMetadata committed) {
        String m = committed == null ? null : committed.metadata();
        if (m == null || !m.startsWith(PREFIX)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.ofEpochMilli(Long.parseLong(m.substring(PREFIX.length()))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
