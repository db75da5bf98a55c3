package io.kdstream.service;

import io.kdstream.config.Bounded;
import io.kdstream.kafka.KafkaClients;
import picocli.CommandLine.Option;

/**
 * Options every service shares (a picocli mixin): the Kafka connection ({@link KafkaOptions}), the
 * largest record it produces or fetches, and where to serve metrics.
 */
public final class ServiceOptions extends KafkaOptions {

    @Option(names = "--max-record-bytes", defaultValue = "16777216", converter = Bounded.PositiveInt.class,
            description = "Largest feature batch record (must match the broker's message.max.bytes; default: ${DEFAULT-VALUE}).")
    public int maxRecordBytes;

    @Option(names = "--metrics-port", defaultValue = "-1", converter = Bounded.PortOrOff.class,
            description = "Port for /metrics, /healthz and /readyz; 0 picks a free port, -1 disables (default: ${DEFAULT-VALUE}).")
    public int metricsPort;

    @Override
    public KafkaClients clients() {
        return super.clients().withMaxRecordBytes(maxRecordBytes);
    }
}
