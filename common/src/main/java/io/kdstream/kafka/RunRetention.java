package io.kdstream.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The topic-level retention each topic of a run gets, so nothing depends on the cluster default
 * (often 7 days, shorter than students replay a run):
 * <ul>
 *   <li>{@code <run>.features} and {@code <run>.work}: kept until the run is deleted
 *       ({@code retention.ms=-1}, {@code retention.bytes=-1}) unless the teacher's
 *       {@code --retention} gives a finite time;</li>
 *   <li>{@code <run>.manifest}: compacted (the latest manifest per key, never deleted);</li>
 *   <li>{@code <run>.dlq}: {@link #DLQ_RETENTION} (7 days): evidence for an investigation, not
 *       data anyone replays.</li>
 * </ul>
 *
 * @param keep how long features and work items stay; null keeps them until the run is deleted
 */
public record RunRetention(Duration keep) {

    /** Retention of {@code <run>.dlq}. */
    public static final Duration DLQ_RETENTION = Duration.ofDays(7);

    public RunRetention {
        if (keep != null && (keep.isNegative() || keep.isZero())) {
            throw new IllegalArgumentException("retention must be positive, got " + keep);
        }
    }

    /** Features and work items stay until the run is deleted. */
    public static RunRetention untilDeleted() {
        return new RunRetention(null);
    }

    /** {@code retention.ms} for features and work: -1 (forever) or the given time. */
    public long retentionMs() {
        return keep == null ? -1 : keep.toMillis();
    }

    /** Topic configs of {@code <run>.features} and {@code <run>.work}. */
    public Map<String, String> stream() {
        return Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs()),
                TopicConfig.RETENTION_BYTES_CONFIG, "-1");
    }

    /** Topic configs of {@code <run>.dlq}. */
    public static Map<String, String> dlq() {
        return Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(DLQ_RETENTION.toMillis()),
                TopicConfig.RETENTION_BYTES_CONFIG, "-1");
    }

    /** Merges topic config maps (later ones win). */
    @SafeVarargs
    public static Map<String, String> merge(Map<String, String>... configs) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map<String, String> c : configs) {
            out.putAll(c);
        }
        return out;
    }

    /**
     * What is wrong with the retention of a run's existing topics: one message per topic that
     * keeps records for less time (or fewer bytes) than this retention asks, or a manifest that
     * is not compacted, each with the {@code kafka-configs.sh} command that fixes it. Empty if
     * all is well.
     *
     * @throws org.apache.kafka.common.errors.AuthorizationException (as the cause) without
     *         DescribeConfigs on the topics
     */
    public List<String> shortfalls(Admin admin, RunTopics topics, String bootstrapServers, Duration timeout) {
        Map<String, Config> configs = describe(admin, List.of(topics.features(), topics.work(), topics.manifest()),
                timeout);
        List<String> out = new ArrayList<>();
        for (String topic : List.of(topics.features(), topics.work())) {
            Config c = configs.get(topic);
            if (c == null) {
                continue;
            }
            long ms = longValue(c, TopicConfig.RETENTION_MS_CONFIG);
            long bytes = longValue(c, TopicConfig.RETENTION_BYTES_CONFIG);
            boolean shortTime = ms >= 0 && (retentionMs() < 0 || ms < retentionMs());
            if (shortTime || bytes >= 0) {
                out.add("topic " + topic + " keeps records for " + (ms < 0 ? "ever" : Duration.ofMillis(ms))
                        + (bytes >= 0 ? " and at most " + bytes + " bytes per partition" : "")
                        + ", less than this run needs (" + (keep == null ? "until the run is deleted" : keep)
                        + "): Kafka will delete batches students may still need. Fix: " + fixCommand(topic,
                        bootstrapServers, TopicConfig.RETENTION_MS_CONFIG + "=" + retentionMs() + ","
                                + TopicConfig.RETENTION_BYTES_CONFIG + "=-1"));
            }
        }
        Config m = configs.get(topics.manifest());
        String policy = m == null ? null : value(m, TopicConfig.CLEANUP_POLICY_CONFIG);
        if (policy != null && !policy.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
            out.add("topic " + topics.manifest() + " has cleanup.policy=" + policy + ", not compact: the manifest will "
                    + "be deleted with old segments. Fix: " + fixCommand(topics.manifest(), bootstrapServers,
                    TopicConfig.CLEANUP_POLICY_CONFIG + "=" + TopicConfig.CLEANUP_POLICY_COMPACT));
        }
        return out;
    }

    /** The configs (with defaults resolved) of existing topics; missing topics are left out. */
    public static Map<String, Config> describe(Admin admin, Collection<String> topics, Duration timeout) {
        Map<String, Config> out = new HashMap<>();
        List<ConfigResource> resources = topics.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
        admin.describeConfigs(resources).values().forEach((r, f) -> {
            try {
                out.put(r.name(), AdminCalls.get(f, timeout, "describe the configuration of topic " + r.name()));
            } catch (IllegalStateException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
            }
        });
        return out;
    }

    private static String fixCommand(String topic, String bootstrapServers, String configs) {
        return "kafka-configs.sh --bootstrap-server " + bootstrapServers
                + " [--command-config client.properties] --alter --entity-type topics --entity-name " + topic
                + " --add-config " + configs;
    }

    private static String value(Config c, String key) {
        ConfigEntry e = c.get(key);
        return e == null ? null : e.value();
    }

    private static long longValue(Config c, String key) {
        String v = value(c, key);
        return v == null ? -1 : Long.parseLong(v);
    }
}
