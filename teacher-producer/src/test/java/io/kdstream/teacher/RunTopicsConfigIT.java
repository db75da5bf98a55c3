package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunRetention;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.service.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.kdstream.vkd.Normalization;

/**
 * Every topic a run creates carries the topic-level settings of its role, read back with the
 * admin API (not inherited from the cluster default); an existing topic with a shorter retention
 * is reported with the command that fixes it; the run's bytes on the brokers become a gauge.
 */
@ExtendWith(KafkaExtension.class)
class RunTopicsConfigIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static RunSpec spec(String run) {
        return RunSpec.builder().setRunId(run).setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher("teacher-hash", "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                .optInputMode(InputMode.REFERENCE)
                .setStream(4, 4, 1, 1L).build();
    }

    @Test
    void everyRunTopicHasTheRetentionOfItsRole(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunTopics t = new RunTopics("cfg-" + UUID.randomUUID());
        RunSetup.prepare(clients, spec(t.runId()), new RunSetup.Settings(2, 2, 2, (short) -1, TIMEOUT));
        try (Admin admin = Admin.create(clients.admin())) {
            Map<String, Config> c = RunRetention.describe(admin, t.all(), TIMEOUT);
            assertThat(c).containsOnlyKeys(t.all());
            String maxBytes = TopicAdmin.maxMessageBytes(clients.maxRecordBytes()).get("max.message.bytes");
            assertConfig(c.get(t.features()), Map.of("retention.ms", "-1", "retention.bytes", "-1",
                    "cleanup.policy", "delete", "max.message.bytes", maxBytes));
            assertConfig(c.get(t.work()), Map.of("retention.ms", "-1", "retention.bytes", "-1",
                    "cleanup.policy", "delete"));
            assertConfig(c.get(t.manifest()), Map.of("cleanup.policy", "compact"));
            assertConfig(c.get(t.dlq()), Map.of("retention.ms", "604800000", "retention.bytes", "-1",
                    "cleanup.policy", "delete", "max.message.bytes", maxBytes));
            for (String topic : List.of(t.features(), t.work(), t.dlq())) {
                assertThat(c.get(topic).get("retention.ms").source().name()).as("%s sets its own retention", topic)
                        .isEqualTo("DYNAMIC_TOPIC_CONFIG");
            }
            assertThat(RunRetention.untilDeleted().shortfalls(admin, t, clients.bootstrapServers(), TIMEOUT))
                    .as("nothing to warn about").isEmpty();
        }
    }

    @Test
    void aFiniteRetentionIsSetOnFeaturesAndWork(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunTopics t = new RunTopics("cfg-ret-" + UUID.randomUUID());
        RunSetup.prepare(clients, spec(t.runId()), new RunSetup.Settings(1, 1, 2, (short) -1, TIMEOUT,
                new RunRetention(Duration.ofDays(30))));
        try (Admin admin = Admin.create(clients.admin())) {
            Map<String, Config> c = RunRetention.describe(admin, t.all(), TIMEOUT);
            assertConfig(c.get(t.features()), Map.of("retention.ms", "2592000000", "retention.bytes", "-1"));
            assertConfig(c.get(t.work()), Map.of("retention.ms", "2592000000", "retention.bytes", "-1"));
        }
    }

    @Test
    void anExistingTopicThatKeepsRecordsTooShortlyIsReportedWithTheFix(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunTopics t = new RunTopics("cfg-old-" + UUID.randomUUID());
        try (Admin admin = Admin.create(clients.admin())) {
            // as an older teacher (or a hand-made topic) left it: the cluster default retention
            TopicAdmin.ensureTopics(admin, List.of(new NewTopic(t.features(), 1, (short) -1)), TIMEOUT);
        }
        RunSetup.prepare(clients, spec(t.runId()), new RunSetup.Settings(1, 1, 2, (short) -1, TIMEOUT));
        try (Admin admin = Admin.create(clients.admin())) {
            List<String> warnings = RunRetention.untilDeleted().shortfalls(admin, t, clients.bootstrapServers(),
                    TIMEOUT);
            assertThat(warnings).singleElement().asString().startsWith("topic " + t.features()
                    + " keeps records for PT168H").contains("kafka-configs.sh --bootstrap-server "
                    + clients.bootstrapServers(), "--alter --entity-type topics --entity-name " + t.features()
                    + " --add-config retention.ms=-1,retention.bytes=-1");
            assertThat(RunRetention.describe(admin, List.of(t.features()), TIMEOUT).get(t.features())
                    .get("retention.ms").value()).as("the teacher does not alter it").isEqualTo("604800000");
        }
    }

    @Test
    void theRunsBytesOnTheBrokersAreAGauge(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        RunTopics t = new RunTopics("cfg-bytes-" + UUID.randomUUID());
        RunSetup.prepare(clients, spec(t.runId()), new RunSetup.Settings(1, 1, 2, (short) -1, TIMEOUT));
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.producer("cfg-bytes"))) {
            p.send(new ProducerRecord<>(t.features(), "0/0", new byte[50_000])).get();
        }
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("teacher", "run", t.runId());
        try (Admin admin = Admin.create(clients.admin());
             RunDiskMetrics m = new RunDiskMetrics(admin, t.runId(), 1_000_000, Duration.ofMillis(200))) {
            m.bindTo(registry);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!(registry.find("kdstream.teacher.run.broker").tag("topic", t.features()).gauges().stream()
                    .anyMatch(g -> g.value() > 50_000))) {
                assertThat(System.nanoTime()).as("gauge of %s", t.features()).isLessThan(deadline);
                TimeUnit.MILLISECONDS.sleep(100);
            }
            assertThat(registry.get("kdstream.teacher.run.broker").tag("topic", t.manifest()).gauge().value()).isPositive();
            assertThat(registry.get("kdstream.teacher.run.broker.budget").gauge().value()).isEqualTo(1_000_000);
            assertThat(registry.scrape()).as("the names the alert and the dashboard use")
                    .contains("kdstream_teacher_run_broker_bytes{run=\"" + t.runId() + "\",service=\"teacher\",topic=\""
                            + t.features() + "\"}", "kdstream_teacher_run_broker_budget_bytes{run=\"" + t.runId() + "\"");
        }
    }

    private static void assertConfig(Config c, Map<String, String> want) {
        want.forEach((k, v) -> assertThat(c.get(k).value()).as(k).isEqualTo(v));
    }
}
