package io.kdstream.runs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.teacher.RunSetup;
import io.kdstream.vkd.Normalization;

/**
 * A student asked for something the run does not carry (logit distillation on a run whose teacher
 * published no logits) reads the real manifest from the broker and stops with one line naming the
 * run and how to start a teacher that carries it, before training: exit 1, no checkpoint written.
 * Before this check it trained with a kd term of 0 at every step and exited 0. The same for
 * {@code --data-workers} on a run whose inputs travel in its records.
 */
@ExtendWith(KafkaExtension.class)
class OptionsTheRunCannotServeIT {

    @TempDir
    Path dir;

    @Test
    void logitDistillationOnARunWithoutLogitsStopsBeforeTraining(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        String run = "nologits-" + UUID.randomUUID();
        RunSpec spec = RunSpec.builder().setRunId(run)
                .setSource("fashion-mnist?fraction=1.0&limit=64&seed=1", 10, List.of(1, 28, 28))
                .setTeacher("teacher-hash-1", "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                .optInputMode(InputMode.INLINE).setStream(32, 2, 1, 1L).build(); // no optLogitClasses: no logits
        RunSetup.prepare(clients, spec, new RunSetup.Settings(1, 2, 2, (short) -1, Duration.ofSeconds(60)));
        Path ck = dir.resolve("ck");

        Kdstream r = Kdstream.run(List.of("--bootstrap-servers", clients.bootstrapServers()), "student", "--run", run,
                "--group", "g", "--checkpoint-dir", ck.toString(), "--gamma", "1", "--manifest-timeout", "30s",
                "--device", "cpu");

        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("student: run " + run
                + " carries no teacher logits").contains("--gamma 1.0", "--logits");
        try (var files = Files.list(ck)) {
            assertThat(files).as("nothing trained, no checkpoint").isEmpty();
        }

        // inputs inline in the records: no image is read, so there is nothing for data workers to do
        Kdstream workers = Kdstream.run(List.of("--bootstrap-servers", clients.bootstrapServers()), "student", "--run",
                run, "--group", "g2", "--checkpoint-dir", dir.resolve("ck2").toString(), "--data-workers", "2",
                "--manifest-timeout", "30s", "--device", "cpu");
        assertThat(workers.code()).as(workers.err()).isEqualTo(1);
        assertThat(workers.err().strip()).doesNotContain("\n").startsWith("student: run " + run
                + " carries its inputs in its records: --data-workers only acts when");
    }
}
