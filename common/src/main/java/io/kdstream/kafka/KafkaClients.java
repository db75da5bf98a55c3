package io.kdstream.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.kdstream.codec.RecordLimits;

/**
 * Client configurations with kdstream's defaults: idempotent producers with {@code acks=all},
 * {@code read_committed} consumers, and record-size limits large enough for one feature batch.
 * Connection settings (SASL, TLS, ...) come from a standard Kafka client properties file and
 * apply to every client a service creates.
 *
 * <pre>{@code
 * KafkaClients clients = KafkaClients.of("broker:9092").withPropertiesFile(Path.of("client.properties"));
 * try (var producer = new KafkaProducer<>(clients.transactionalProducer("teacher-1"), ...)) { ... }
 * }</pre>
 */
public final class KafkaClients {

    private final Map<String, Object> common;
    private final int maxRecordBytes;
    private final int timeoutMs;

    private KafkaClients(Map<String, Object> common, int maxRecordBytes, int timeoutMs) {
        this.common = Map.copyOf(common);
        this.maxRecordBytes = maxRecordBytes;
        this.timeoutMs = timeoutMs;
    }

    public static KafkaClients of(String bootstrapServers) {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers must be given (host:port[,host:port...])");
        }
        return new KafkaClients(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers),
                RecordLimits.DEFAULT_MAX_RECORD_BYTES, 60_000);
    }

    /** Adds the settings of a Kafka client properties file (security, timeouts, ...). */
    public KafkaClients withPropertiesFile(Path file) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Kafka client properties " + file, e);
        }
        Map<String, Object> m = new HashMap<>(common);
        p.forEach((k, v) -> m.put(k.toString(), v));
        return new KafkaClients(m, maxRecordBytes, timeoutMs);
    }

    /** Adds one client setting. */
    public KafkaClients with(String key, Object value) {
        Map<String, Object> m = new HashMap<>(common);
        m.put(key, value);
        return new KafkaClients(m, maxRecordBytes, timeoutMs);
    }

    public KafkaClients withMaxRecordBytes(int bytes) {
        return new KafkaClients(common, bytes, timeoutMs);
    }

    /**
     * Bounds how long any client call waits for the cluster (admin and consumer API calls,
     * producer metadata), so an unreachable broker fails start-up with an error instead of hanging.
     */
    public KafkaClients withTimeout(java.time.Duration timeout) {
        return new KafkaClients(common, maxRecordBytes, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }

    /** The bound set by {@link #withTimeout} (default 60 s). */
    public java.time.Duration timeout() {
        return java.time.Duration.ofMillis(timeoutMs);
    }

    public String bootstrapServers() {
        return common.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG).toString();
    }

    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    public Map<String, Object> admin() {
        Map<String, Object> m = new HashMap<>();
        m.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        m.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(30_000, timeoutMs));
        m.putAll(common);
        return m;
    }

    /** Idempotent producer, {@code acks=all}, string keys and byte values. */
    public Map<String, Object> producer(String clientId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ProducerConfig.ACKS_CONFIG, "all");
        m.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        m.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRecordBytes + RecordLimits.BATCH_OVERHEAD_BYTES);
        m.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        m.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        m.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        m.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        m.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        m.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        m.putAll(common);
        return m;
    }

    /** A transactional producer; the id must be stable per teacher instance so a restart fences its zombie. */
    public Map<String, Object> transactionalProducer(String transactionalId) {
        Map<String, Object> m = producer(transactionalId);
        m.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return m;
    }

    /** A {@code read_committed} consumer with manual commits, string keys and byte values. */
    public Map<String, Object> consumer(String groupId, String clientId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        m.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        m.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // a reader must never create a topic: on a broker with auto.create.topics.enable (Kafka's
        // default) a student looking for a run's manifest before any teacher would create
        // <run>.manifest with the broker's delete policy, and the run's manifest would expire
        m.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        m.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, maxRecordBytes + RecordLimits.BATCH_OVERHEAD_BYTES);
        m.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Math.max(64 * 1024 * 1024,
                maxRecordBytes + RecordLimits.BATCH_OVERHEAD_BYTES));
        m.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        m.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        if (groupId != null) {
            m.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        m.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        m.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        m.putAll(common);
        return m;
    }
}
