package io.kdstream.student;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import io.kdstream.kafka.KafkaClients;

/**
 * Tells whether records a student still needs on {@code <run>.features} are below a partition's
 * log start offset, and says which in one line. A run's topic starts at offset 0, so a log start
 * offset above the offset still needed means records of the run were deleted (retention,
 * {@code deleteRecords}); transaction markers and aborted records share the offsets, so the
 * missing range is given by offsets and by the batch keys around it: the last one this student
 * read and the first one still on the partition (read at the log start offset).
 */
final class DeletedBatches {

    private static final Duration FIRST_KEY_TIMEOUT = Duration.ofSeconds(3);

    private final KafkaClients clients;
    private final String runId;

    DeletedBatches(KafkaClients clients, String runId) {
        this.clients = clients;
        this.runId = runId;
    }

    /**
     * @param needed    per partition, the lowest offset this student still has to read
     * @param logStarts per partition, the current log start offset
     * @param lastKeys  per partition, the key of the last batch read in this pass (may be absent)
     * @throws BatchesGoneException for the first partition whose needed records are gone
     */
    void require(Map<TopicPartition, Long> needed, Map<TopicPartition, Long> logStarts, Map<Integer, String> lastKeys) {
        needed.forEach((tp, offset) -> {
            Long start = logStarts.get(tp);
            if (start != null && start > offset) {
                throw gone(tp, offset, start, lastKeys.get(tp.partition()));
            }
        });
    }

    /** The error for records {@code [needed, logStart)} of {@code tp}. */
    BatchesGoneException gone(TopicPartition tp, long needed, long logStart, String lastKey) {
        String first = firstKeyAt(tp, logStart);
        return new BatchesGoneException("run " + runId + ": feature batches were deleted before this student read "
                + "them: " + tp + " offsets " + needed + ".." + (logStart - 1) + " are gone (the log start offset "
                + "moved to " + logStart + ", past offset " + needed + " that this student needs; retention or "
                + "deleteRecords removed them, they cannot arrive); missing (epoch, batch): "
                + (lastKey == null ? "from the first of this partition" : "after " + pair(lastKey))
                + (first == null ? " to the last published" : " up to before " + pair(first)));
    }

    /** The key of the first committed record at or after {@code offset}, or null if none comes in time. */
    private String firstKeyAt(TopicPartition tp, long offset) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "kdstream-gone-probe"))) {
            c.assign(List.of(tp));
            c.seek(tp, offset);
            long deadline = System.nanoTime() + FIRST_KEY_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    return r.key();
                }
            }
            return null;
        } catch (RuntimeException e) {
            return null; // the range by offsets is still exact; the key only helps to read it
        }
    }

    private static String pair(String key) {
        return "(" + key.replace("/", ", ") + ")";
    }
}
