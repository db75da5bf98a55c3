package io.kdstream.service;

import java.nio.file.Path;
import java.time.Duration;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.duration.DurationConverter;
import io.kdstream.kafka.KafkaClients;
import picocli.CommandLine.Option;

/**
 * Options every service shares (a picocli mixin): where Kafka is, how to connect to it, where to
 * serve metrics and which configuration file supplies defaults.
 */
public final class ServiceOptions {

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT[,...]",
            description = "Kafka bootstrap servers.")
    public String bootstrapServers;

    @Option(names = "--kafka-config", paramLabel = "FILE", converter = PathOption.ExistingFile.class,
            description = "Kafka client properties applied to every client (security.protocol, sasl.*, ssl.*, ...).")
    public Path kafkaConfig;

    @Option(names = "--max-record-bytes", defaultValue = "16777216", converter = Bounded.PositiveInt.class,
            description = "Largest feature batch record (must match the broker's message.max.bytes; default: ${DEFAULT-VALUE}).")
    public int maxRecordBytes;

    @Option(names = "--kafka-timeout", defaultValue = "60s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long to wait for Kafka before giving up at start-up (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    public Duration kafkaTimeout;

    @Option(names = "--metrics-port", defaultValue = "-1", converter = Bounded.PortOrOff.class,
            description = "Port for /metrics, /healthz and /readyz; 0 picks a free port, -1 disables (default: ${DEFAULT-VALUE}).")
    public int metricsPort;

    @Option(names = "--config", paramLabel = "FILE", converter = PathOption.ExistingFile.class,
            description = "Properties file of option defaults, keys named like the long options without dashes "
                    + "(e.g. bootstrap-servers=broker:9092); an unknown key is refused and values are checked like "
                    + "the options'. Command-line options win.")
    public Path config;

    /** Kafka client settings from these options. */
    public KafkaClients clients() {
        KafkaClients c = KafkaClients.of(bootstrapServers).withMaxRecordBytes(maxRecordBytes).withTimeout(kafkaTimeout);
        return kafkaConfig == null ? c : c.withPropertiesFile(kafkaConfig);
    }
}
