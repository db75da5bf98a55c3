package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaAccessErrors;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunAcls;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.SecuredKafka;
import io.kdstream.lifecycle.KdstreamJvm;

/**
 * The embedded broker with a SASL_SSL (SCRAM-SHA-512) listener and ACLs, its certificate made
 * with the JDK's keytool at test time. A teacher principal publishes a run; a student process
 * connects with {@code --kafka-config} and trains it; the student principal cannot write the
 * features or the manifest; a wrong password ends the student at once with one clear line; no
 * password appears in any log, progress line or {@code /metrics}.
 */
@RequiresDataset
class SecureClusterIT {

    private static final String STORE_PASSWORD = "store-Pw-91c2";
    private static final String ADMIN_PASSWORD = "admin-Pw-5d0e";
    private static final String TEACHER_PASSWORD = "teacher-Pw-77ab";
    private static final String STUDENT_PASSWORD = "student-Pw-3f8d";
    private static final String WRONG_PASSWORD = "wrong-Pw-0b19";
    private static final List<String> SECRETS = List.of(STORE_PASSWORD, ADMIN_PASSWORD, TEACHER_PASSWORD,
            STUDENT_PASSWORD, WRONG_PASSWORD);
    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);

    @TempDir
    static Path dir;

    private static SecuredKafka broker;

    @BeforeAll
    static void startSecuredBroker() throws Exception {
        broker = SecuredKafka.start(dir, STORE_PASSWORD, Map.of(SecuredKafka.ADMIN, ADMIN_PASSWORD,
                "teacher", TEACHER_PASSWORD, "student", STUDENT_PASSWORD));
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void studentsTrainOverSaslSslButCannotPublishAndAWrongPasswordFailsFastWithoutLeakingSecrets()
            throws Exception {
        String run = "secure-" + UUID.randomUUID();
        String group = "secure-student";
        try (Admin admin = Admin.create(broker.clients(SecuredKafka.ADMIN).admin())) {
            admin.createAcls(RunAcls.teacher(run, "User:teacher")).all().get(60, TimeUnit.SECONDS);
            admin.createAcls(RunAcls.student(run, group, "User:student")).all().get(60, TimeUnit.SECONDS);
        }
        KafkaClients teacher = broker.clients("teacher");
        KafkaClients student = broker.clients("student");
        Path studentProps = broker.clientProperties("student.properties", "student", STUDENT_PASSWORD);
        Path wrongProps = broker.clientProperties("wrong.properties", "student", WRONG_PASSWORD);
        int metricsPort = freePort();
        List<String> scrapes = new ArrayList<>();
        Process[] proc = new Process[1];

        // the teacher principal creates the run; once the manifest and a first batch are out, the
        // student process (student principal) starts and serves /metrics while batches keep coming
        RunSpec spec = FeatureStreams.produce(teacher, run, DATA, 200, 2, InputMode.REFERENCE, s -> List.of(),
                (s, sent) -> {
                    if (sent == 1) {
                        proc[0] = startStudent(run, group, studentProps, metricsPort, "good");
                        await().atMost(Duration.ofSeconds(120)).until(() -> scrape(metricsPort, scrapes));
                    }
                });
        try {
            assertThat(proc[0].waitFor(180, TimeUnit.SECONDS)).as("student finished").isTrue();
            assertThat(proc[0].exitValue()).as("student exit code; log: %s", read("good.err")).isZero();
        } finally {
            proc[0].destroyForcibly();
        }
        assertThat(new CheckpointStore(dir.resolve("ckpt-good"), 1).latestValid().orElseThrow().step())
                .as("every batch trained over SASL_SSL").isEqualTo(spec.epochs() * spec.batchesPerEpoch());
        assertThat(read("good.out")).contains("\"trained\"");

        // the student principal may read the run but never publish to it
        RunTopics topics = new RunTopics(run);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(student.producer("impostor"))) {
            for (String topic : List.of(topics.features(), topics.manifest())) {
                assertThatThrownBy(() -> p.send(new ProducerRecord<>(topic, "0/0", new byte[] {1})).get(60,
                        TimeUnit.SECONDS)).as("student writing %s", topic)
                        .hasCauseInstanceOf(TopicAuthorizationException.class);
            }
        }

        // a wrong password: one clear line and a distinct exit code, well before any timeout
        long t0 = System.nanoTime();
        Process wrong = startStudent(run, "wrong-student", wrongProps, -1, "wrong");
        try {
            assertThat(wrong.waitFor(60, TimeUnit.SECONDS)).as("a refused login ends the student").isTrue();
        } finally {
            wrong.destroyForcibly();
        }
        String err = read("wrong.err");
        System.out.println("stderr of the student with a wrong password:\n" + err);
        assertThat(wrong.exitValue()).as("exit code; stderr: %s", err).isEqualTo(KafkaAccessErrors.EXIT_CODE);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(45));
        assertThat(err.lines().filter(l -> l.startsWith("student: Kafka refused to authenticate")).count())
                .as("one clear line; stderr: %s", err).isEqualTo(1);
        assertThat(err.lines().filter(l -> l.contains("failed authentication")).count())
                .as("the client did not keep retrying the login").isLessThan(5);

        String everything = String.join("\n", read("good.out"), read("good.err"), read("wrong.out"), err,
                String.join("\n", scrapes));
        for (String secret : SECRETS) {
            assertThat(everything).as("password in logs, progress or /metrics").doesNotContain(secret);
        }
        assertThat(String.join("\n", scrapes)).as("/metrics was scraped").contains("service=\"student\"");
    }

    private static Process startStudent(String run, String group, Path props, int metricsPort, String name)
            throws IOException {
        return KdstreamJvm.mainClass(StudentCommand.class, "--run", run, "--group", group,
                "--bootstrap-servers", broker.bootstrapServers(), "--kafka-config", props.toString(),
                "--checkpoint-dir", dir.resolve("ckpt-" + name).toString(), "--arch", "mlp",
                "--metrics-port", Integer.toString(metricsPort), "--progress-interval", "1",
                "--manifest-timeout", "PT60S", "--idle-timeout", "PT60S", "--kafka-timeout", "PT60S")
                .optHeap("512m").optOutput(dir.resolve(name + ".out"), dir.resolve(name + ".err")).build().start();
    }

    private static boolean scrape(int port, List<String> into) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/metrics").toURL()
                    .openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(5000);
            if (c.getResponseCode() != 200) {
                return false;
            }
            into.add(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            return true;
        } catch (IOException e) {
            return false; // not up yet
        }
    }

    private static String read(String name) throws IOException {
        Path f = dir.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
