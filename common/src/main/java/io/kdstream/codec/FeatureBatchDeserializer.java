package io.kdstream.codec;

import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka {@link Deserializer} for {@link FeatureBatch}. It throws {@link InvalidBatchException}
 * on a bad value, which a consumer sees as a {@code RecordDeserializationException} from
 * {@code poll}; services that must route bad records to the DLQ consume raw bytes instead and
 * call {@link FeatureBatch#decode}.
 */
public class FeatureBatchDeserializer implements Deserializer<FeatureBatch> {
    @Override
    public FeatureBatch deserialize(String topic, byte[] data) {
        return data == null ? null : FeatureBatch.decode(data);
    }
}
