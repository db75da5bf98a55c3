package io.kdstream.runs;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.AdminCalls;
import io.kdstream.kafka.BrokerDiskUsage;
import io.kdstream.kafka.CommitTimes;
import io.kdstream.kafka.KafkaAccessErrors;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.RunRetention;
import io.kdstream.kafka.RunTopics;
import io.kdstream.teacher.WorkItem;

/**
 * The runs on a cluster, found by their {@code <run>.manifest} topics, and what each holds: its
 * manifest, topics and their retention, bytes on the brokers, the teachers' group and how many
 * epochs it published, and the student groups (consumer groups with offsets committed on
 * {@code <run>.features}) with their lag and last commit time. Deletes a run once nobody uses it.
 */
final class RunCatalog implements AutoCloseable {

    /**
     * A student group of a run. {@code lag} counts the records it can still read; when
     * {@code lagExact} is false it is an upper bound (offsets, transaction markers included).
     * {@code lastCommit} is empty for commits without a kdstream time stamp.
     */
    record StudentGroup(String group, String state, int members, long lag, boolean lagExact,
                        Optional<Instant> lastCommit) {
    }

    /**
     * Up to this many offsets between a group's commit and the end of a partition are read to
     * count the records in them (a finished group is 1 offset short: the last transaction's
     * commit marker); more would mean fetching up to that many feature batches.
     */
    static final int EXACT_LAG_OFFSETS = 64;

    /**
     * What a run holds. {@code bytes} is empty when the brokers' log dirs could not be described
     * (no cluster Describe ACL); {@code epochsPublished} is -1 when the work plan could not be read.
     */
    record RunReport(String run, Optional<RunSpec> manifest, List<String> topics, Optional<Map<String, Long>> bytes,
                     int teachers, int epochsPublished, List<StudentGroup> groups) {

        long totalBytes() {
            return bytes.map(m -> m.values().stream().mapToLong(Long::longValue).sum()).orElse(-1L);
        }
    }

    private final KafkaClients clients;
    private final Admin admin;
    private final Duration timeout;
    private KafkaConsumer<String, byte[]> reader;

    RunCatalog(KafkaClients clients) {
        this.clients = clients;
        this.admin = Admin.create(clients.admin());
        this.timeout = clients.timeout();
    }

    /**
     * Fails with the same one line in every {@code runs} command when no broker answers within
     * the Kafka timeout, instead of whichever admin call happened to time out first.
     */
    void checkReachable() {
        try {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (KafkaAccessErrors.describe(e.getCause()).isPresent()) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
            throw unreachable(e.getCause());
        } catch (TimeoutException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while connecting to Kafka", e);
        }
    }

    private IllegalStateException unreachable(Throwable cause) {
        // no cause chained: the handler would append Kafka's own wording, which varies with the call that timed out
        return new IllegalStateException("no Kafka broker answered at " + clients.bootstrapServers() + " within "
                + seconds(timeout) + " (is Kafka reachable? check --bootstrap-servers, --kafka-config, "
                + "--kafka-timeout)");
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    /** Run ids with a manifest topic, sorted. */
    List<String> runs() {
        Set<String> names = AdminCalls.get(admin.listTopics().names(), timeout, "list topics");
        return names.stream().map(RunTopics::ofManifest).flatMap(Optional::stream).map(RunTopics::runId)
                .sorted().toList();
    }

    boolean exists(String run) {
        return runs().contains(run);
    }

    RunReport report(String run) {
        RunTopics t = new RunTopics(run);
        Map<String, TopicDescription> topics = describeTopics(t);
        Optional<RunSpec> manifest = new ManifestStore(clients).read(run, timeout);
        Optional<Map<String, Long>> bytes;
        try {
            bytes = Optional.of(BrokerDiskUsage.bytesByTopic(admin, t.allIncludingOptional(), timeout));
        } catch (IllegalStateException e) {
            if (KafkaAccessErrors.describe(e).isEmpty()) {
                throw e;
            }
            bytes = Optional.empty(); // no Describe on the cluster: the rest is still worth showing
        }
        int teachers = members(new RunTopics(run).teacherGroup());
        int epochs = topics.containsKey(t.work()) ? manifest.map(m -> epochsPublished(t, m)).orElse(-1) : -1;
        return new RunReport(run, manifest, t.allIncludingOptional().stream().filter(topics::containsKey).toList(), bytes, teachers,
                epochs, studentGroups(t, topics.get(t.features())));
    }

    /** Topic configs of the run's existing topics (retention, cleanup policy, ...). */
    Map<String, Config> configs(String run) {
        return RunRetention.describe(admin, new RunTopics(run).allIncludingOptional(), timeout);
    }

    /**
     * Why the run may not be deleted now: a teacher is a member of its group, or a student group
     * has members or committed within {@code grace} (or committed without a time stamp). Empty
     * when it may.
     */
    List<String> inUse(RunReport r, Duration grace, Instant now) {
        List<String> why = new ArrayList<>();
        if (r.teachers() > 0) {
            why.add(r.teachers() + " teacher(s) hold the run (active members of " + new RunTopics(r.run()).teacherGroup()
                    + ")");
        }
        for (StudentGroup g : r.groups()) {
            if (g.members() > 0) {
                why.add("student group " + g.group() + " has " + g.members() + " active member(s)");
            } else if (g.lastCommit().isEmpty()) {
                why.add("student group " + g.group() + " committed at an unknown time (no kdstream time stamp)");
            } else if (g.lastCommit().get().isAfter(now.minus(grace))) {
                why.add("student group " + g.group() + " committed at " + g.lastCommit().get() + ", within the grace "
                        + "period of " + grace);
            }
        }
        return why;
    }

    /**
     * Deletes the offsets the run's groups committed on its topics (a group left with none is
     * deleted), then every topic of the run.
     *
     * @return what was deleted, one line each
     */
    List<String> delete(RunReport r) {
        RunTopics t = new RunTopics(r.run());
        List<String> done = new ArrayList<>();
        List<String> groups = new ArrayList<>(r.groups().stream().map(StudentGroup::group).toList());
        groups.add(new RunTopics(r.run()).teacherGroup());
        for (String g : groups) {
            Map<TopicPartition, OffsetAndMetadata> committed = committed(g);
            Set<TopicPartition> ours = new java.util.HashSet<>();
            committed.keySet().stream().filter(tp -> t.all().contains(tp.topic())).forEach(ours::add);
            if (ours.isEmpty()) {
                continue;
            }
            if (ours.size() == committed.size()) {
                AdminCalls.get(admin.deleteConsumerGroups(List.of(g)).all(), timeout, "delete consumer group " + g);
                done.add("group " + g);
            } else {
                AdminCalls.get(admin.deleteConsumerGroupOffsets(g, ours).all(), timeout,
                        "delete the offsets of group " + g + " on run " + r.run());
                done.add("offsets of group " + g + " on " + ours.size() + " partition(s)");
            }
        }
        if (!r.topics().isEmpty()) {
            AdminCalls.get(admin.deleteTopics(r.topics()).all(), timeout, "delete the topics of run " + r.run());
            r.topics().forEach(topic -> done.add("topic " + topic));
        }
        return done;
    }

    private Map<String, TopicDescription> describeTopics(RunTopics t) {
        Set<String> existing = AdminCalls.get(admin.listTopics().names(), timeout, "list topics");
        List<String> ours = t.allIncludingOptional().stream().filter(existing::contains).toList();
        return ours.isEmpty() ? Map.of()
                : AdminCalls.get(admin.describeTopics(ours).allTopicNames(), timeout, "describe topics " + ours);
    }

    private List<StudentGroup> studentGroups(RunTopics t, TopicDescription features) {
        if (features == null) {
            return List.of();
        }
        Map<TopicPartition, Long> end = endOffsets(features);
        Collection<GroupListing> listed = AdminCalls.get(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all(),
                timeout, "list consumer groups");
        Map<String, Map<TopicPartition, OffsetAndMetadata>> onFeatures = new LinkedHashMap<>();
        for (String g : new TreeSet<>(listed.stream().map(GroupListing::groupId).toList())) {
            Map<TopicPartition, OffsetAndMetadata> c = new HashMap<>(committed(g));
            c.keySet().removeIf(tp -> !tp.topic().equals(t.features()));
            if (!c.isEmpty()) {
                onFeatures.put(g, c);
            }
        }
        if (onFeatures.isEmpty()) {
            return List.of();
        }
        Map<String, ConsumerGroupDescription> described = AdminCalls.get(
                admin.describeConsumerGroups(onFeatures.keySet()).all(), timeout, "describe consumer groups");
        List<StudentGroup> out = new ArrayList<>();
        onFeatures.forEach((g, c) -> {
            long lag = 0;
            boolean exact = true;
            Instant last = null;
            boolean unstamped = false;
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                OffsetAndMetadata om = c.get(e.getKey());
                long from = om == null ? 0 : om.offset();
                long gap = Math.max(0, e.getValue() - from);
                if (gap > 0 && gap <= EXACT_LAG_OFFSETS) {
                    lag += readable(e.getKey(), from, e.getValue());
                } else {
                    lag += gap;
                    exact &= gap == 0;
                }
            }
            for (OffsetAndMetadata om : c.values()) {
                Optional<Instant> at = CommitTimes.of(om);
                unstamped |= at.isEmpty();
                if (at.isPresent() && (last == null || at.get().isAfter(last))) {
                    last = at.get();
                }
            }
            ConsumerGroupDescription d = described.get(g);
            out.add(new StudentGroup(g, d == null ? "UNKNOWN" : d.groupState().toString(),
                    d == null ? 0 : d.members().size(), lag, exact, unstamped ? Optional.empty() : Optional.ofNullable(last)));
        });
        return out;
    }

    /**
     * Records a read_committed consumer gets between {@code from} and {@code end}: commit and
     * abort markers and aborted records take offsets but are never delivered.
     */
    private long readable(TopicPartition tp, long from, long end) {
        if (reader == null) {
            reader = new KafkaConsumer<>(clients.consumer(null, "kdstream-runs-lag"));
        }
        reader.assign(List.of(tp));
        reader.seek(tp, from);
        long count = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (reader.position(tp, timeout) < end) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout + " counting the records of " + tp
                        + " between offsets " + from + " and " + end);
            }
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                if (r.offset() < end) {
                    count++;
                }
            }
        }
        return count;
    }

    /** End offsets as a read_committed student sees them (the last stable offset). */
    private Map<TopicPartition, Long> endOffsets(TopicDescription topic) {
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        topic.partitions().forEach(p -> req.put(new TopicPartition(topic.name(), p.partition()), OffsetSpec.latest()));
        Map<TopicPartition, Long> out = new HashMap<>();
        AdminCalls.get(admin.listOffsets(req, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all(), timeout,
                "list the end offsets of " + topic.name()).forEach((tp, info) -> out.put(tp, info.offset()));
        return out;
    }

    private Map<TopicPartition, OffsetAndMetadata> committed(String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> m = AdminCalls.get(
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata(), timeout,
                    "list the offsets of group " + group);
            Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            m.forEach((tp, om) -> {
                if (om != null) {
                    out.put(tp, om);
                }
            });
            return out;
        } catch (IllegalStateException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return Map.of();
            }
            throw e;
        }
    }

    private int members(String group) {
        try {
            return AdminCalls.get(admin.describeConsumerGroups(List.of(group)).all(), timeout,
                    "describe group " + group).get(group).members().size();
        } catch (IllegalStateException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return 0;
            }
            throw e;
        }
    }

    /**
     * Epochs whose every work item the teachers committed: each item sits at an offset of
     * {@code <run>.work}, and the teachers' group has committed past it once its batches were
     * published (in the same transaction). The plan is small (one record per item).
     */
    private int epochsPublished(RunTopics t, RunSpec spec) {
        Map<TopicPartition, OffsetAndMetadata> done = committed(new RunTopics(t.runId()).teacherGroup());
        Map<Integer, Boolean> complete = new HashMap<>();
        for (int e = 0; e < spec.epochs(); e++) {
            complete.put(e, true);
        }
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(clients.consumer(null, "kdstream-runs"))) {
            List<TopicPartition> parts = c.partitionsFor(t.work(), timeout).stream()
                    .map(p -> new TopicPartition(t.work(), p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, timeout);
            long deadline = System.nanoTime() + timeout.toNanos();
            int items = 0;
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    items++;
                    OffsetAndMetadata om = done.get(new TopicPartition(r.topic(), r.partition()));
                    if (om == null || om.offset() <= r.offset()) {
                        complete.put(WorkItem.fromJson(r.value()).epoch(), false);
                    }
                }
            }
            if (items == 0 || parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                return items == 0 ? 0 : -1; // not planned yet, or not read in time
            }
        }
        return (int) complete.values().stream().filter(b -> b).count();
    }

    @Override
    public void close() {
        if (reader != null) {
            reader.close(Duration.ofSeconds(5));
        }
        admin.close(Duration.ofSeconds(5));
    }
}
