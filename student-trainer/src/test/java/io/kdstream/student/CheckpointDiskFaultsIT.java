package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * The checkpoint directory on a small tmpfs that fills up, or turns read-only, in the middle of a
 * run: the student stops with an error naming the checkpoint it could not write, the previous
 * checkpoint stays intact and loadable, no partial file is left behind, and a restart once space
 * is back resumes from that checkpoint and trains every batch exactly once. Needs root and
 * {@code mount -t tmpfs}; skipped with the reason otherwise.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class CheckpointDiskFaultsIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);

    @TempDir
    Path tmp;

    private Path mount;

    @BeforeEach
    void mountTmpfs() throws Exception {
        mount = tmp.resolve("ckpt-fs");
        Files.createDirectories(mount);
        String why = run("mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", mount.toString());
        Prerequisites.assume(Need.PRIVILEGED_TMPFS, why == null, "cannot mount a tmpfs for the checkpoint directory (needs root): " + why);
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount != null) {
            run("umount", "-l", mount.toString());
        }
    }

    @Test
    void aFullDiskStopsTheStudentWithTheLastCheckpointIntactAndARestartResumes(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "diskfull-" + UUID.randomUUID(), DATA, 100, 1,
                InputMode.INLINE);
        Path dir = mount.resolve("ckpt");
        AtomicInteger checkpoints = new AtomicInteger();
        StudentListener fillAfterFirst = new StudentListener() {
            @Override
            public void onCheckpoint(long step, Path file) {
                if (checkpoints.incrementAndGet() == 1) {
                    fill(mount); // the disk fills up between two checkpoints
                }
            }
        };
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, dir).addListener(fillAfterFirst).build().run())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot write checkpoint")
                .hasMessageContaining("No space left on device")
                .hasMessageContaining("step-000000000004.safetensors is intact");
        assertIntact(dir, 4);

        Files.delete(mount.resolve("filler"));
        AtomicInteger firstStep = new AtomicInteger(-1);
        StudentTrainer.Result r = trainer(kafka.clients(), spec, dir).addListener(new StudentListener() {
            @Override
            public void onStep(StepEvent e) {
                firstStep.compareAndSet(-1, (int) e.step());
            }
        }).build().run();
        assertThat(firstStep.get()).as("resumed after the intact checkpoint").isEqualTo(5);
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);
        assertThat(r.steps()).as("each batch trained once across both runs").isEqualTo(spec.batchesPerEpoch());
    }

    @Test
    void aDiskTurnedReadOnlyStopsTheStudentWithTheLastCheckpointIntact(TestKafka kafka) throws Exception {
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "diskro-" + UUID.randomUUID(), DATA, 100, 1,
                InputMode.INLINE);
        Path dir = mount.resolve("ckpt");
        StudentListener roAfterFirst = new StudentListener() {
            private boolean done;

            @Override
            public void onCheckpoint(long step, Path file) {
                if (!done) {
                    done = true;
                    String why = runUnchecked("mount", "-o", "remount,ro", mount.toString());
                    assertThat(why).as("remount read-only").isNull();
                }
            }
        };
        assertThatThrownBy(() -> trainer(kafka.clients(), spec, dir).addListener(roAfterFirst).build().run())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot write checkpoint")
                .hasMessageContaining("Read-only file system")
                .hasMessageContaining("is intact");
        assertIntact(dir, 4);
    }

    private static void assertIntact(Path dir, long step) throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 1);
        assertThat(store.steps()).as("only the intact checkpoint is there").hasSize(1);
        Checkpoint c = CheckpointStore.read(store.steps().get(0));
        assertThat(c.step()).isEqualTo(step);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList())
                    .as("no partial checkpoint left behind").isEmpty();
        }
    }

    private StudentTrainer.Builder trainer(KafkaClients clients, RunSpec spec, Path dir) {
        ImageDataset train = DATA.train();
        return StudentTrainer.builder().setClients(clients).setRun(spec).setGroup("disk").setCheckpointDir(dir)
                .setInputNormalization(InputNormalization.forDataset(train)).optTrainData(train)
                .optIdleTimeout(Duration.ofSeconds(30)).optCheckpointEvery(4)
                .optConfig(StudentConfig.builder().optArch(Architecture.MLP).optLr(3e-3).optWeightDecay(1e-4)
                        .optSchedule(LrSchedule.Kind.COSINE).optWarmupSteps(5).optSeed(1L).build());
    }

    /** Writes until the file system is full (tmpfs: no reserved blocks). */
    private static void fill(Path fs) {
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(fs.resolve("filler"))) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // expected: No space left on device
        }
    }

    private static String runUnchecked(String... cmd) {
        try {
            return run(cmd);
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** Runs a command; null on success, else why it failed. */
    private static String run(String... cmd) throws Exception {
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(List.of(cmd)).redirectErrorStream(true))) {
            if (!p.finishesWithin(Duration.ofSeconds(30))) {
                return String.join(" ", cmd) + " timed out";
            }
            return p.exitValue() == 0 ? null : String.join(" ", cmd) + ": " + p.stdout().trim();
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}
