package io.kdstream.student;


import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.manifest.RunSpec;

/**
 * kill -9 of a student joining two runs (issue 39): after the restarts finish, its {@code --trace}
 * shows every joined batch of every pass trained exactly once, and the parameters equal those of an
 * uninterrupted joined student, bit for bit, as {@link StudentKillIT} shows for one run. The
 * checkpoint's positions cover both runs' partitions; a record the join still held at the kill is
 * read again, and one already trained is dropped.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class JoinedStudentKillIT {

    private static final int CHECKPOINT_EVERY = 4;
    private static final int KILLS = 3; // issue 39's target: three kills, exactly once

    @TempDir
    Path tmp;

    @Test
    void killNineOfAJoinedStudentTrainsEveryJoinedBatchExactlyOnceAndEndsWhereAnUninterruptedRunEnds(
            TestKafka kafka) throws Exception {
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, 600, 3); // 24 joined steps: room for three kills
        String id = UUID.randomUUID().toString();
        RunSpec wide = FeatureStreams.produce(kafka.clients(), "kill-wide-" + id, data, 50, 2, InputMode.INLINE, 96,
                (e, b) -> true);
        RunSpec narrow = FeatureStreams.produce(kafka.clients(), "kill-narrow-" + id, data, 50, 2,
                InputMode.REFERENCE, 32, (e, b) -> true);
        List<RunSpec> runs = List.of(wide, narrow);
        KillNine.audit((group, ckpt, trace) -> start(kafka, runs, group, ckpt, trace), tmp, KILLS, CHECKPOINT_EVERY,
                wide.epochs(), wide.batchesPerEpoch());
    }

    private Process start(TestKafka kafka, List<RunSpec> runs, String group, Path ckpt, Path trace)
            throws IOException {
        List<String> args = new ArrayList<>();
        runs.forEach(r -> args.addAll(List.of("--run", r.runId())));
        args.addAll(List.of("--group", group, "--arch", "mlp", "--bootstrap-servers", kafka.bootstrapServers(),
                "--checkpoint-dir", ckpt.toString(), "--checkpoint-every", "" + CHECKPOINT_EVERY, "--prefetch", "2",
                "--progress-interval", "0", "--trace", trace.toString()));
        return KdstreamJvm.mainClass(StudentCommand.class, args.toArray(String[]::new))
                .optSingleTorchThread().optHeap("512m").optLog(tmp.resolve(group + ".log")).build().start();
    }
}
