package io.kdstream.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;

/**
 * Bytes that topics occupy on the brokers' disks, from {@code Admin.describeLogDirs}: every
 * replica in every log dir counts, so a topic with replication factor 3 shows three times its
 * log size. Needs the Describe ACL on the cluster.
 */
public final class BrokerDiskUsage {

    private BrokerDiskUsage() {
    }

    /** Bytes per topic (only topics in {@code topics} that have replicas; others are absent). */
    public static Map<String, Long> bytesByTopic(Admin admin, Collection<String> topics, Duration timeout) {
        Set<String> wanted = Set.copyOf(topics);
        Collection<Node> nodes = AdminCalls.get(admin.describeCluster().nodes(), timeout, "describe the cluster");
        List<Integer> brokers = nodes.stream().map(Node::id).toList();
        Map<Integer, Map<String, LogDirDescription>> dirs = AdminCalls.get(
                admin.describeLogDirs(brokers).allDescriptions(), timeout, "describe the brokers' log dirs");
        Map<String, Long> out = new HashMap<>();
        for (Map<String, LogDirDescription> byDir : dirs.values()) {
            for (LogDirDescription d : byDir.values()) {
                for (Map.Entry<TopicPartition, ReplicaInfo> r : d.replicaInfos().entrySet()) {
                    if (wanted.contains(r.getKey().topic())) {
                        out.merge(r.getKey().topic(), r.getValue().size(), Long::sum);
                    }
                }
            }
        }
        return out;
    }
}
