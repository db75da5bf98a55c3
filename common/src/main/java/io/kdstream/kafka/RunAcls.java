package io.kdstream.kafka;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The least ACLs each role needs on one run, for a cluster that enforces ACLs
 * ({@code Admin.createAcls(RunAcls.teacher(run, "User:teacher"))}); deploy/README.md lists the
 * same as {@code kafka-acls.sh} commands. A student may read the features and the manifest and
 * write only the DLQ: it can never publish features or change the run's manifest.
 */
public final class RunAcls {

    private RunAcls() {
    }

    /**
     * Teacher-producer: creates the run's topics, publishes manifest, work plan and features in
     * transactions. Exactly what a teacher process needs (SecureTeacherIT takes each away in turn):
     * Kafka's Read and Write imply Describe, and Write on a topic also covers the idempotent
     * (non-transactional) manifest producer, so neither Describe nor IdempotentWrite is listed.
     */
    public static List<AclBinding> teacher(String runId, String principal) {
        RunTopics t = new RunTopics(runId);
        List<AclBinding> acls = new ArrayList<>();
        topic(acls, principal, t.features(), AclOperation.CREATE, AclOperation.WRITE);
        topic(acls, principal, t.work(), AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE);
        topic(acls, principal, t.manifest(), AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE);
        topic(acls, principal, t.dlq(), AclOperation.CREATE, AclOperation.DESCRIBE);
        // whiten runs: the first teacher publishes the calibrated whitening, the others read it
        topic(acls, principal, t.whitening(), AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE);
        // to check the retention of topics that existed before this teacher; without it the
        // teacher says it cannot check and goes on (RunSetup)
        for (String topic : List.of(t.features(), t.work(), t.manifest())) {
            topic(acls, principal, topic, AclOperation.DESCRIBE_CONFIGS);
        }
        // the teachers' consumer group on <run>.work (and the offsets committed in its transactions)
        allow(acls, principal, new ResourcePattern(ResourceType.GROUP, "kdstream-" + runId + "-teachers",
                PatternType.LITERAL), AclOperation.READ);
        // flow control reads the students' committed offsets (any group): without it, discovery sees
        // no student group and the teacher never pauses; a --student-groups group it cannot describe
        // ends the teacher with exit 4
        allow(acls, principal, new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL),
                AclOperation.DESCRIBE);
        // the planner's and every instance's transactional ids: kdstream-<run>-planner, kdstream-<run>-teacher-<id>
        allow(acls, principal, new ResourcePattern(ResourceType.TRANSACTIONAL_ID, "kdstream-" + runId + "-",
                PatternType.PREFIXED), AclOperation.WRITE);
        return acls;
    }

    /**
     * {@code kdstream runs} on every run: find runs and their configuration (Describe,
     * DescribeConfigs on topics), read manifests and work plans (Read), see consumer groups and
     * their offsets (Describe on groups), bytes on the brokers and the list of groups (Describe on
     * the cluster, which also lets the principal list ACLs). {@code runs delete} also needs Delete
     * on topics and groups; a read-only operator leaves those out.
     */
    public static List<AclBinding> runsOperator(String principal) {
        List<AclBinding> acls = new ArrayList<>();
        ResourcePattern anyTopic = new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL);
        allow(acls, principal, anyTopic, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.READ,
                AclOperation.DELETE);
        allow(acls, principal, new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL),
                AclOperation.DESCRIBE, AclOperation.DELETE);
        allow(acls, principal, new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL),
                AclOperation.DESCRIBE);
        return acls;
    }

    /**
     * Student-trainer in consumer group {@code group}: reads features and manifest, writes rejects
     * to the DLQ (Read and Write imply Describe).
     */
    public static List<AclBinding> student(String runId, String group, String principal) {
        RunTopics t = new RunTopics(runId);
        List<AclBinding> acls = new ArrayList<>();
        topic(acls, principal, t.features(), AclOperation.READ);
        topic(acls, principal, t.manifest(), AclOperation.READ);
        topic(acls, principal, t.dlq(), AclOperation.WRITE);
        allow(acls, principal, new ResourcePattern(ResourceType.GROUP, group, PatternType.LITERAL),
                AclOperation.READ);
        return acls;
    }

    private static void topic(List<AclBinding> acls, String principal, String topic, AclOperation... ops) {
        allow(acls, principal, new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL), ops);
    }

    private static void allow(List<AclBinding> acls, String principal, ResourcePattern resource,
                              AclOperation... ops) {
        for (AclOperation op : ops) {
            acls.add(new AclBinding(resource, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)));
        }
    }
}
