package io.kdstream.codec;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;


/**
 * Kafka {@link Serializer} writing a {@link FeatureBatch} as safetensors and the batch's facts
 * as record headers ({@link RecordHeaderNames}).
 *
 * <p>Config key {@value #MAX_RECORD_BYTES_CONFIG} (default 16 MiB): a batch that encodes larger
 * is refused here with a message naming its size, rather than by the broker later.
 */
public class FeatureBatchSerializer implements Serializer<FeatureBatch> {

    public static final String MAX_RECORD_BYTES_CONFIG = "kdstream.max.record.bytes";

    private int maxRecordBytes = RecordLimits.DEFAULT_MAX_RECORD_BYTES;

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        Object v = configs.get(MAX_RECORD_BYTES_CONFIG);
        if (v != null) {
            maxRecordBytes = Integer.parseInt(v.toString());
        }
    }

    @Override
    public byte[] serialize(String topic, FeatureBatch batch) {
        if (batch == null) {
            return null;
        }
        byte[] value = batch.encode();
        if (value.length > maxRecordBytes) {
            throw new RecordTooLargeException("batch " + batch.recordKey() + " of run " + batch.metadata().runId()
                    + " encodes to " + value.length + " bytes, over the " + maxRecordBytes
                    + "-byte record limit: lower the batch size, use a smaller feature dtype (f16/bf16/i8), "
                    + "send inputs by reference, or raise the limit on broker and clients");
        }
        return value;
    }

    @Override
    public byte[] serialize(String topic, Headers headers, FeatureBatch batch) {
        if (batch != null && headers != null) {
            BatchMetadata m = batch.metadata();
            headers.remove(RecordHeaderNames.RUN).remove(RecordHeaderNames.EPOCH).remove(RecordHeaderNames.BATCH)
                    .remove(RecordHeaderNames.SCHEMA).remove(RecordHeaderNames.TEACHER)
                    .remove(RecordHeaderNames.WHITENING);
            headers.add(RecordHeaderNames.RUN, utf8(m.runId()))
                    .add(RecordHeaderNames.EPOCH, utf8(Integer.toString(m.epoch())))
                    .add(RecordHeaderNames.BATCH, utf8(Integer.toString(m.batchIndex())))
                    .add(RecordHeaderNames.SCHEMA, utf8(Integer.toString(m.schemaVersion())))
                    .add(RecordHeaderNames.TEACHER, utf8(m.teacherId()));
            if (m.whiteningSha256() != null) {
                headers.add(RecordHeaderNames.WHITENING, utf8(m.whiteningSha256()));
            }
        }
        return serialize(topic, batch);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
