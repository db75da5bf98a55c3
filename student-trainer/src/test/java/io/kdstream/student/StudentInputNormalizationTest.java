package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.Split;
import io.kdstream.vkd.Normalization;

/** A student normalizes its inputs as the run's teacher did, and refuses other values it is given. */
class StudentInputNormalizationTest {

    private static final RunSpec OLD = RunSpec.builder().setRunId("r").setSource("synthetic", 10, List.of(1, 28, 28))
            .setTeacher("t", "pool").setFeatures(96, Normalization.LAYER, DType.F16)
            .setStream(16, 1, 1, 1L).build();
    private static final RunSpec RECORDED = OLD.withInputNormalization(new float[] {0.5f}, new float[] {0.25f});
    private static final ImageDataset TRAIN = new ImageDataset(new ImageDataset.Layout("fashion-mnist", Split.TRAIN, 1,
            28, 28, Collections.nCopies(10, "c")), new byte[28 * 28], new int[] {0}, new long[] {0});

    private static StudentCommand parse(String... options) {
        StudentCommand cmd = new StudentCommand();
        List<String> args = new ArrayList<>(List.of("--run", "r", "--group", "g", "--checkpoint-dir", "ckpt",
                "--bootstrap-servers", "127.0.0.1:9"));
        args.addAll(List.of(options));
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        return cmd;
    }

    @Test
    void withoutOptionsTheManifestsNormalizationIsUsed() {
        assertThat(parse().inputNormalization(RECORDED, TRAIN))
                .isEqualTo(new InputNormalization(new float[] {0.5f}, new float[] {0.25f}));
    }

    @Test
    void theManifestsValuesGivenAgainAreAccepted() {
        assertThat(parse("--input-mean", "0.5", "--input-std", "0.25").inputNormalization(RECORDED, TRAIN))
                .isEqualTo(new InputNormalization(new float[] {0.5f}, new float[] {0.25f}));
    }

    @Test
    void otherValuesAreRefusedInOneLineNamingBoth() {
        assertThatThrownBy(() -> parse("--input-mean", "0.286", "--input-std", "0.353").inputNormalization(RECORDED, TRAIN))
                .hasMessage("input normalization: manifest of run r has mean=[0.5] std=[0.25], this student was "
                        + "given mean=[0.286] std=[0.353]");
    }

    @Test
    void aManifestThatDoesNotRecordItLeavesTheOptionsOrTheDatasetsStatistics() {
        assertThat(parse().inputNormalization(OLD, TRAIN)).isEqualTo(InputNormalization.forDataset(TRAIN));
        assertThat(parse("--input-mean", "0.1", "--input-std", "0.2").inputNormalization(OLD, TRAIN))
                .isEqualTo(new InputNormalization(new float[] {0.1f}, new float[] {0.2f}));
        assertThatThrownBy(() -> parse("--input-std", "0.2").inputNormalization(OLD, TRAIN))
                .hasMessage("--input-mean and --input-std go together; got only --input-std");
    }
}
