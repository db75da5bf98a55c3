package io.kdstream.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

import io.kdstream.codec.InvalidBatchException;
import io.kdstream.codec.RecordHeaderNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Forwards a record that cannot be decoded or validated to {@code <run>.dlq}, unchanged, with
 * the reason and its source topic/partition/offset in headers, and counts it in
 * {@code kdstream_student_dlq_records_total{reason}}. Nothing is dropped silently (DESIGN.md §4).
 * The counter exists at zero for every {@link InvalidBatchException.Reason} from construction on,
 * so that a {@code rate()} alert sees the first dead letter.
 *
 * <p>A value too large to forward with the added headers is replaced by null and the header
 * {@value RecordHeaderNames#DLQ_VALUE_OMITTED} (its size in bytes); the original stays on the
 * source topic at the offset given in the headers.
 *
 * <p>{@link #send} waits for the broker's acknowledgement, so a consumer that commits the bad
 * record's offset afterwards cannot lose it.
 */
public final class DeadLetterQueue {

    /**
     * Micrometer name; Prometheus exposes it as {@code kdstream_student_dlq_records_total}. The
     * student-trainer is the one consumer that dead-letters, so the counter carries its prefix.
     */
    public static final String METRIC = "kdstream.student.dlq.records";

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final String consumerName;
    private final Map<InvalidBatchException.Reason, Counter> counters = new EnumMap<>(InvalidBatchException.Reason.class);
    private final Duration timeout;

    /**
     * @param producer     a non-transactional producer (string keys, byte values); not closed by this class
     * @param topic        the DLQ topic, normally {@link RunTopics#dlq()}
     * @param consumerName who rejects the records (e.g. the student's group), written as a header
     */
    public DeadLetterQueue(Producer<String, byte[]> producer, String topic, String consumerName,
                           MeterRegistry registry, Duration timeout) {
        this.producer = producer;
        this.topic = topic;
        this.consumerName = consumerName;
        this.timeout = timeout;
        for (InvalidBatchException.Reason r : InvalidBatchException.Reason.values()) {
            counters.put(r, Counter.builder(METRIC)
                    .description("Records sent to the dead-letter topic, by rejection reason")
                    .tag("reason", r.tag()).register(registry));
        }
    }

    /** Forwards the record and counts it; throws if the DLQ write is not acknowledged in time. */
    public RecordMetadata send(ConsumerRecord<String, byte[]> record, InvalidBatchException error) {
        RecordHeaders headers = new RecordHeaders();
        for (Header h : record.headers()) {
            headers.add(h);
        }
        headers.add(RecordHeaderNames.DLQ_REASON, utf8(error.reason().tag()))
                .add(RecordHeaderNames.DLQ_DETAIL, utf8(truncate(error.getMessage(), 2000)))
                .add(RecordHeaderNames.DLQ_SOURCE_TOPIC, utf8(record.topic()))
                .add(RecordHeaderNames.DLQ_SOURCE_PARTITION, utf8(Integer.toString(record.partition())))
                .add(RecordHeaderNames.DLQ_SOURCE_OFFSET, utf8(Long.toString(record.offset())))
                .add(RecordHeaderNames.DLQ_CONSUMER, utf8(consumerName));
        RecordMetadata md;
        try {
            try {
                md = producer.send(new ProducerRecord<>(topic, null, record.key(), record.value(), headers))
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RecordTooLargeException)) {
                    throw e;
                }
                // A value at the size limit no longer fits once our headers are added: keep the
                // provenance and the reason, say the value was left out (it stays on the source topic).
                headers.add(RecordHeaderNames.DLQ_VALUE_OMITTED, utf8(Integer.toString(record.value().length)));
                md = producer.send(new ProducerRecord<>(topic, null, record.key(), null, headers))
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot write " + record.topic() + "-" + record.partition() + "@"
                    + record.offset() + " to the DLQ " + topic + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to the DLQ", e);
        }
        counters.get(error.reason()).increment();
        return md;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
