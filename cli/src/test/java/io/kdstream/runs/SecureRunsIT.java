package io.kdstream.runs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.CommitTimes;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunAcls;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.SecuredKafka;
import io.kdstream.teacher.RunSetup;
import io.kdstream.vkd.Normalization;

/**
 * {@code kdstream runs} on a SASL_SSL broker that enforces ACLs, logged in as a principal holding
 * only {@link RunAcls#runsOperator} (deploy/README.md): it lists, describes and deletes a run.
 */
class SecureRunsIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void anOperatorWithTheDocumentedAclsListsDescribesAndDeletesARun() throws Exception {
        try (SecuredKafka broker = SecuredKafka.start(dir, "store-Pw-77c1", Map.of(SecuredKafka.ADMIN, "admin-Pw-19ab",
                "operator", "operator-Pw-5d20"))) {
            KafkaClients admin = broker.clients(SecuredKafka.ADMIN);
            String run = "secure-runs-" + UUID.randomUUID();
            RunTopics t = new RunTopics(run);
            RunSetup.prepare(admin, RunSpec.builder().setRunId(run).setSource("synthetic", 10, List.of(1, 28, 28))
                    .setTeacher("teacher-hash-2", "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                    .optInputMode(InputMode.REFERENCE)
                    .setStream(4, 4, 1, 1L).build(),
                    new RunSetup.Settings(1, 1, 2, (short) -1, TIMEOUT));
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(admin.consumer("student-s", "secure-runs"))) {
                c.commitSync(Map.of(new TopicPartition(t.features(), 0), CommitTimes.stamped(0, Instant.now())));
            }
            try (Admin a = Admin.create(admin.admin())) {
                a.createAcls(RunAcls.runsOperator("User:operator")).all().get(60, TimeUnit.SECONDS);
            }
            Path props = broker.clientProperties("operator.properties", "operator", "operator-Pw-5d20");

            Kdstream list = run(broker, props, "runs", "list");
            assertThat(list.code()).as(list.err()).isZero();
            assertThat(list.out()).containsPattern("run=" + run + " .*teacher_id=teacher-hash-2 .*bytes=\\d+ .*"
                    + "student_groups=1\n  student-s  state=Empty  members=0  lag=0  last_commit=20");

            Kdstream describe = run(broker, props, "runs", "describe", run);
            assertThat(describe.code()).as(describe.err()).isZero();
            assertThat(describe.out()).contains(t.features() + "  cleanup.policy=delete  retention.ms=-1");

            Kdstream delete = run(broker, props, "runs", "delete", run, "--grace", "PT0S");
            assertThat(delete.code()).as(delete.err()).isZero();
            assertThat(delete.out()).contains("deleted group student-s", "deleted topic " + t.features(),
                    "run " + run + " deleted");
            // not the command's word for it: the admin principal sees no topic and no group of the run
            try (Admin a = Admin.create(admin.admin())) {
                await().atMost(TIMEOUT).untilAsserted(() -> {
                    assertThat(a.listTopics().names().get(30, TimeUnit.SECONDS))
                            .doesNotContainAnyElementsOf(t.allIncludingOptional());
                    assertThat(a.listGroups().all().get(30, TimeUnit.SECONDS))
                            .noneMatch(g -> g.groupId().equals("student-s"));
                });
            }
        }
    }

    private static Kdstream run(SecuredKafka broker, Path props, String... args) {
        return Kdstream.run(List.of("--bootstrap-servers", broker.bootstrapServers(), "--kafka-config",
                props.toString()), args);
    }
}
