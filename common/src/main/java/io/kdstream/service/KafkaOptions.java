package io.kdstream.service;

import java.nio.file.Path;
import java.time.Duration;

import io.kdstream.config.PathOption;
import io.kdstream.duration.DurationConverter;
import io.kdstream.kafka.KafkaClients;
import picocli.CommandLine.Option;

/**
 * Options every command that talks to Kafka shares (a picocli mixin): where Kafka is, how to
 * connect to it and which configuration file supplies defaults. One-shot commands ({@code runs})
 * take these; services take {@link ServiceOptions}, which adds the metrics port.
 */
public class KafkaOptions {

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT[,...]",
            description = "Kafka bootstrap servers.")
    public String bootstrapServers;

    @Option(names = "--kafka-config", paramLabel = "FILE", converter = PathOption.ExistingFile.class,
            description = "Kafka client properties applied to every client (security.protocol, sasl.*, ssl.*, ...).")
    public Path kafkaConfig;

    @Option(names = "--kafka-timeout", defaultValue = "60s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long to wait for Kafka before giving up at start-up (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    public Duration kafkaTimeout;

    @Option(names = "--config", paramLabel = "FILE", converter = PathOption.ExistingFile.class,
            description = "Properties file of option defaults, keys named like the long options without dashes "
                    + "(e.g. bootstrap-servers=broker:9092); an unknown key is refused and values are checked like "
                    + "the options'. Command-line options win.")
    public Path config;

    /** Kafka client settings from these options. */
    public KafkaClients clients() {
        KafkaClients c = KafkaClients.of(bootstrapServers).withTimeout(kafkaTimeout);
        return kafkaConfig == null ? c : c.withPropertiesFile(kafkaConfig);
    }
}
