package io.kdstream.teacher;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Measures how far the teachers are ahead of the slowest student group on {@code <run>.features}:
 * the sum over partitions of (log end offset − the group's committed offset). Student groups are
 * the registered ones plus any group with offsets committed on the topic (discovery). Students
 * commit at checkpoints, and transaction markers occupy offsets, so the lead is an upper bound on
 * the untrained batches: good enough to keep the broker's disk from filling up.
 */
public final class LeadMonitor {

    private final Admin admin;
    private final String topic;
    private final Set<String> registered;
    private final boolean discover;
    private final Set<String> excluded;
    private final Duration timeout;

    public LeadMonitor(Admin admin, String featuresTopic, List<String> registeredGroups, boolean discover,
                       Set<String> excludedGroups, Duration timeout) {
        this.admin = admin;
        this.topic = featuresTopic;
        this.registered = new LinkedHashSet<>(registeredGroups);
        this.discover = discover;
        this.excluded = Set.copyOf(excludedGroups);
        this.timeout = timeout;
    }

    /** The student groups currently considered. */
    public Set<String> studentGroups() throws Exception {
        Set<String> groups = new LinkedHashSet<>(registered);
        if (discover) {
            for (GroupListing g : get(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all())) {
                String id = g.groupId();
                if (!groups.contains(id) && !excluded.contains(id) && committed(id).keySet().stream()
                        .anyMatch(tp -> tp.topic().equals(topic))) {
                    groups.add(id);
                }
            }
        }
        return groups;
    }

    /** The largest lead over any student group, in records; empty when no student group is known. */
    public OptionalLong lead() throws Exception {
        Set<String> groups = studentGroups();
        if (groups.isEmpty()) {
            return OptionalLong.empty();
        }
        Map<TopicPartition, Long> end = endOffsets();
        long max = 0;
        for (String g : groups) {
            Map<TopicPartition, OffsetAndMetadata> c = committed(g);
            long lag = 0;
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                OffsetAndMetadata om = c.get(e.getKey());
                lag += Math.max(0, e.getValue() - (om == null ? 0 : om.offset()));
            }
            max = Math.max(max, lag);
        }
        return OptionalLong.of(max);
    }

    private Map<TopicPartition, Long> endOffsets() throws Exception {
        int partitions = get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic).partitions().size();
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            req.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> r = get(admin.listOffsets(req).all());
        Map<TopicPartition, Long> out = new HashMap<>();
        r.forEach((tp, info) -> out.put(tp, info.offset()));
        return out;
    }

    private Map<TopicPartition, OffsetAndMetadata> committed(String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m = get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        m.forEach((tp, om) -> {
            if (om != null) {
                out.put(tp, om);
            }
        });
        return out;
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> f) throws InterruptedException, ExecutionException,
            TimeoutException {
        return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
