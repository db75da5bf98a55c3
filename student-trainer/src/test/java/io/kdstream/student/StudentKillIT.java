package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.KdstreamJvm;

/**
 * kill -9 of the student process at random points: after the restarts finish the run, its
 * {@code --trace} shows every batch of every epoch trained exactly once in the surviving history,
 * and the final parameters equal those of an uninterrupted run (libtorch CPU, one thread), for a zoo
 * student and for a TorchScript one (whose checkpoints also hold its module with the buffers). The
 * long version (N ≥ 10 kills) is {@code benchmarks/chaos.sh}.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class StudentKillIT {

    private static final int CHECKPOINT_EVERY = 5;
    private static final int KILLS = 3;

    @TempDir
    Path tmp;

    private List<String> studentArgs;

    /** A zoo student, and a TorchScript one (BatchNorm statistics and Dropout masks must resume too). */
    @ParameterizedTest
    @ValueSource(strings = {"cnn", "torchscript"})
    void killNineAtRandomPointsTrainsEveryBatchExactlyOnceAndEndsWhereAnUninterruptedRunEnds(String student,
                                                                                             TestKafka kafka)
            throws Exception {
        studentArgs = student.equals("torchscript")
                ? List.of("--student", TorchScriptStudentTest.fixture("tiny_student.pt").toString())
                : List.of("--arch", student);
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, 1000, 3);
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "student-kill-" + UUID.randomUUID(), data, 50, 3,
                InputMode.INLINE);
        KillNine.Dirs dirs = KillNine.audit((group, ckpt, trace) -> start(kafka, spec, group, ckpt, trace), tmp, KILLS,
                CHECKPOINT_EVERY, spec.epochs(), spec.batchesPerEpoch());
        if (student.equals("torchscript")) {
            // the trained module handed back at the end: the same bytes as the uninterrupted run's
            Path exported = dirs.killed().resolve(TorchScriptStudent.EXPORT_FILE);
            assertThat(exported).exists();
            assertThat(Files.readAllBytes(exported)).as("student.pt after %d kills (seed %d)", KILLS, dirs.seed())
                    .isEqualTo(Files.readAllBytes(dirs.uninterrupted().resolve(TorchScriptStudent.EXPORT_FILE)));
        }
    }

    private Process start(TestKafka kafka, RunSpec spec, String group, Path ckpt, Path trace) throws IOException {
        List<String> args = new java.util.ArrayList<>(List.of("--run", spec.runId(), "--group", group,
                "--bootstrap-servers", kafka.bootstrapServers(), "--checkpoint-dir", ckpt.toString(),
                "--checkpoint-every", "" + CHECKPOINT_EVERY, "--progress-interval", "0", "--trace", trace.toString()));
        args.addAll(studentArgs);
        return KdstreamJvm.mainClass(StudentCommand.class, args.toArray(String[]::new))
                .optSingleTorchThread().optHeap("512m").optLog(tmp.resolve(group + ".log")).build().start();
    }
}
