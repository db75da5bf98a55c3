package io.kdstream.teacher;

import java.time.Duration;
import java.util.List;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

import io.kdstream.codec.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.ManifestStore;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TopicAdmin;

/**
 * What a teacher does before serving a run: create the run's topics if missing, publish or
 * check the manifest (refusing to start on any difference, naming the fields), and plan the work
 * items once. Safe to run from several teachers at the same time.
 */
public final class RunSetup {

    /**
     * @param featurePartitions partitions of {@code <run>.features}
     * @param workPartitions    partitions of {@code <run>.work}, the most teachers that can work at once
     * @param batchesPerItem    batches per work item (one transaction)
     * @param replicationFactor topic replication factor; -1 for the broker default
     */
    public record Settings(int featurePartitions, int workPartitions, int batchesPerItem, short replicationFactor,
                           Duration timeout) {
        public Settings {
            if (featurePartitions <= 0 || workPartitions <= 0 || batchesPerItem <= 0) {
                throw new IllegalArgumentException("partitions and batches per item must be > 0");
            }
        }

        public static Settings defaults() {
            return new Settings(1, 4, 4, (short) -1, Duration.ofSeconds(60));
        }
    }

    private RunSetup() {
    }

    /**
     * @return the run's manifest (equal to {@code spec})
     * @throws io.kdstream.codec.ManifestMismatchException if the run exists with another configuration
     */
    public static RunSpec prepare(KafkaClients clients, RunSpec spec, Settings settings) {
        RunTopics t = new RunTopics(spec.runId());
        try (Admin admin = Admin.create(clients.admin())) {
            TopicAdmin.ensureTopics(admin, List.of(
                    new NewTopic(t.features(), settings.featurePartitions(), settings.replicationFactor())
                            .configs(TopicAdmin.maxMessageBytes(clients.maxRecordBytes())),
                    new NewTopic(t.work(), settings.workPartitions(), settings.replicationFactor()),
                    new NewTopic(t.dlq(), 1, settings.replicationFactor())
                            .configs(TopicAdmin.maxMessageBytes(clients.maxRecordBytes()))),
                    settings.timeout());
        }
        RunSpec manifest = new ManifestStore(clients).publishIfAbsent(spec, settings.timeout());
        manifest.requireMatches(spec);
        WorkPlanner.planOnce(clients, spec, settings.batchesPerItem(), settings.timeout());
        return manifest;
    }
}
