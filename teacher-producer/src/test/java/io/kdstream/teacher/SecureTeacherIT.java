package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaAccessErrors;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.RunAcls;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.SecuredKafka;
import io.kdstream.kafka.WhiteningStore;

/**
 * A real transactional teacher process on a SASL_SSL (SCRAM-SHA-512) broker that enforces ACLs,
 * holding only the teacher ACLs of {@link RunAcls} (deploy/README.md): it creates the run's
 * topics, plans the run, publishes every batch exactly once and exits 0. Without the ACL on its
 * transactional ids it exits {@value KafkaAccessErrors#EXIT_CODE} at once with one clear line, and
 * so does a teacher that may not read the committed offsets of the student group it was told to
 * wait for (instead of publishing on without flow control).
 */
@RequiresDataset
class SecureTeacherIT {

    private static final String STORE_PASSWORD = "store-Pw-4e11";
    private static final String ADMIN_PASSWORD = "admin-Pw-a93c";
    private static final String TEACHER_PASSWORD = "teacher-Pw-0d7f";

    @TempDir
    static Path dir;

    private static SecuredKafka broker;
    private static Path teacherDir;
    private static Path teacherProps;

    @BeforeAll
    static void start() throws Exception {
        broker = SecuredKafka.start(dir, STORE_PASSWORD, Map.of(SecuredKafka.ADMIN, ADMIN_PASSWORD,
                "teacher", TEACHER_PASSWORD));
        teacherDir = TeacherProcesses.saveCnnTeacher(dir.resolve("teacher"), 600);
        teacherProps = broker.clientProperties("teacher.properties", "teacher", TEACHER_PASSWORD);
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aTeacherWithTheDocumentedAclsPublishesTheWholeRunExactlyOnce() throws Exception {
        String run = "secure-teacher-" + UUID.randomUUID();
        grant(RunAcls.teacher(run, "User:teacher"));
        Result r = runTeacher(run, "ok");
        assertThat(r.exitCode).as("exit code; output:\n%s", r.output).isZero();
        assertThat(r.output).as("no password in the output").doesNotContain(TEACHER_PASSWORD)
                .doesNotContain(STORE_PASSWORD);
        RunSpec spec = new ManifestStore(broker.clients(SecuredKafka.ADMIN)).read(run, Duration.ofSeconds(30))
                .orElseThrow();
        TeacherWorkerIT.readAll(broker.clients(SecuredKafka.ADMIN), spec, spec.epochs() * spec.batchesPerEpoch());
    }

    @Test
    void aCalibratedWhiteningTeacherWithTheDocumentedAclsPublishesItsWhitening() throws Exception {
        String run = "secure-teacher-whiten-" + UUID.randomUUID();
        grant(RunAcls.teacher(run, "User:teacher"));
        Result r = runTeacher(run, "whiten", "--norm", "whiten");
        assertThat(r.exitCode).as("exit code; output:\n%s", r.output).isZero();
        KafkaClients admin = broker.clients(SecuredKafka.ADMIN);
        RunSpec spec = new ManifestStore(admin).read(run, Duration.ofSeconds(30)).orElseThrow();
        assertThat(spec.whitening()).as("the manifest names the run's whitening").isNotNull();
        assertThat(new WhiteningStore(admin).read(run, spec.whitening().sha256(), Duration.ofSeconds(30)))
                .as("the whitening the manifest names is on " + new RunTopics(run).whitening()).isPresent();
        TeacherWorkerIT.readAll(admin, spec, spec.epochs() * spec.batchesPerEpoch());
    }

    @Test
    void aTeacherMissingTheTransactionalIdAclExitsFourWithOneClearLine() throws Exception {
        String run = "secure-teacher-noacl-" + UUID.randomUUID();
        grant(RunAcls.teacher(run, "User:teacher").stream()
                .filter(b -> b.pattern().resourceType() != ResourceType.TRANSACTIONAL_ID).toList());
        long t0 = System.nanoTime();
        Result r = runTeacher(run, "noacl");
        System.out.println("output of the teacher without its transactional-id ACL:\n" + r.output);
        assertThat(r.exitCode).as("exit code; output:\n%s", r.output).isEqualTo(KafkaAccessErrors.EXIT_CODE);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no retrying").isLessThan(Duration.ofSeconds(60));
        assertThat(r.output.lines().filter(l -> l.startsWith("teacher: Kafka denied an operation")).count())
                .as("one clear line; output:\n%s", r.output).isEqualTo(1);
        assertThat(r.output).as("no stack trace").doesNotContain("\tat ");
    }

    @Test
    void aTeacherThatMayNotDescribeItsRegisteredStudentGroupExitsFourInsteadOfPublishingWithoutFlowControl()
            throws Exception {
        String run = "secure-teacher-nogroup-" + UUID.randomUUID();
        Predicate<AclBinding> anyGroup = b -> b.pattern().resourceType() == ResourceType.GROUP
                && b.pattern().name().equals("*");
        List<AclBinding> acls = RunAcls.teacher(run, "User:teacher");
        // the other tests grant it for their runs on this shared broker, and it covers every group
        revoke(acls.stream().filter(anyGroup).toList());
        grant(acls.stream().filter(anyGroup.negate()).toList());
        Result r = runTeacher(run, "nogroup", "--student-groups", "students-of-" + run);
        assertThat(r.exitCode).as("exit code; output:\n%s", r.output).isEqualTo(KafkaAccessErrors.EXIT_CODE);
        assertThat(r.output.lines().filter(l -> l.startsWith("teacher: Kafka denied an operation")).count())
                .as("one clear line; output:\n%s", r.output).isEqualTo(1);
        assertThat(r.output.lines().filter(l -> l.contains("not pausing")).count())
                .as("no warning per work item; output:\n%s", r.output).isZero();
    }

    private static void grant(List<AclBinding> acls) throws Exception {
        try (Admin admin = Admin.create(broker.clients(SecuredKafka.ADMIN).admin())) {
            admin.createAcls(acls).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static void revoke(List<AclBinding> acls) throws Exception {
        try (Admin admin = Admin.create(broker.clients(SecuredKafka.ADMIN).admin())) {
            admin.deleteAcls(acls.stream().map(AclBinding::toFilter).toList()).all().get(60, TimeUnit.SECONDS);
        }
    }

    private record Result(int exitCode, String output) {
    }

    private static Result runTeacher(String run, String name, String... extra) throws Exception {
        Path log = dir.resolve(name + ".log");
        List<String> args = new ArrayList<>(List.of("--run", run, "--bootstrap-servers", broker.bootstrapServers(),
                "--kafka-config", teacherProps.toString(), "--teacher", teacherDir.toString(), "--train-limit", "600",
                "--epochs", "2", "--batch-size", "50", "--batches-per-item", "4", "--augment", "flip",
                "--progress-interval", "0", "--instance-id", "secure", "--kafka-timeout", "PT30S"));
        args.addAll(List.of(extra));
        Process p = TeacherProcesses.start(log, args.toArray(String[]::new));
        try {
            if (!p.waitFor(150, TimeUnit.SECONDS)) {
                return new Result(-1, read(log) + "\n(killed at the deadline)");
            }
            return new Result(p.exitValue(), read(log));
        } finally {
            p.destroyForcibly();
        }
    }

    private static String read(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f) : "";
    }
}
