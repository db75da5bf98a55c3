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
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.manifest.RunSpec;
import io.kdstream.teacher.RunSetup;
import io.kdstream.vkd.Normalization;

/**
 * A student joining two runs whose teachers cut other batches (here: another run seed, so other
 * samples in each batch) reads both real manifests from the broker and stops with one line naming
 * the field and both values, before it waits for a batch: exit 1, no checkpoint written.
 */
@ExtendWith(KafkaExtension.class)
class JoinedRunsMismatchIT {

    @TempDir
    Path dir;

    @Test
    void runsThatCutOtherBatchesAreRefusedInOneLineBeforeTraining(TestKafka kafka) throws Exception {
        KafkaClients clients = kafka.clients();
        String id = UUID.randomUUID().toString();
        String a = "join-a-" + id;
        String b = "join-b-" + id;
        for (String[] r : new String[][] {{a, "1"}, {b, "2"}}) {
            RunSpec spec = RunSpec.builder().setRunId(r[0])
                    .setSource("fashion-mnist?fraction=1.0&limit=64&seed=1", 10, List.of(1, 28, 28))
                    .setTeacher("teacher-" + r[0], "pool").setFeatures(8, Normalization.LAYER, DType.F32)
                    .optInputMode(InputMode.INLINE).setStream(32, 2, 1, Long.parseLong(r[1])).build();
            RunSetup.prepare(clients, spec, new RunSetup.Settings(1, 2, 2, (short) -1, Duration.ofSeconds(60)));
        }
        Path ck = dir.resolve("ck");

        Kdstream r = Kdstream.run(List.of("--bootstrap-servers", clients.bootstrapServers()), "student", "--run", a,
                "--run", b, "--group", "g", "--checkpoint-dir", ck.toString(), "--manifest-timeout", "30s",
                "--idle-timeout", "10m", "--device", "cpu");

        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").isEqualTo("student: runs " + a + " and " + b
                + " cannot be joined: seed: " + a + " has 1, " + b + " has 2 (joined runs must cut the same batches "
                + "from the same samples)");
        try (var files = Files.list(ck)) {
            assertThat(files).as("nothing trained, no checkpoint").isEmpty();
        }
    }
}
