package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.model.Architecture;
import io.kdstream.model.TorchStateDict;
import io.kdstream.vkd.Normalization;

/**
 * The export reads what a student really checkpoints (StudentModel's tensors in TrainingState's
 * checkpoint), not a hand-made imitation; the PyTorch cross-check is cli's ExportCommandTest.
 */
class ZooExportTest {
    private static final RunSpec RUN = RunSpec.builder().setRunId("unit").setSource("synthetic", 10, List.of(1, 28, 28))
            .setTeacher("t", "pool").setFeatures(96, Normalization.LAYER, DType.F16)
            .setStream(16, 1, 1, 1L).build();

    @TempDir
    Path dir;

    @Test
    void aTrainersCheckpointExportsEveryStudentParameterUnderItsPyTorchNameAndNothingElse() throws IOException {
        StudentConfig cfg = StudentConfig.builder().optArch(Architecture.CNN).optSeed(3).build();
        Map<String, Tensor> state;
        try (StudentModel model = new StudentModel(cfg, RUN)) {
            state = model.stateTensors();
            Checkpoint c = TrainingState.fresh(1, 1, 4).toCheckpoint(state, 0,
                    new TrainingState.Experiment("unit", "t", "g", cfg.toString()));
            new CheckpointStore(dir, 1).saveBest(c);
            Path out = dir.resolve("out/student.safetensors");
            ZooExport.Result r = ZooExport.export(ZooExport.select(dir, ZooExport.Which.BEST), out);
            assertThat(r.arch()).isEqualTo(Architecture.CNN);

            Map<String, String> names = TorchStateDict.names(((ZooStudent) model.student()).net());
            Map<String, Tensor> exported = SafeTensors.read(out).tensors();
            // 4 conv-BN-ReLU layers: one num_batches_tracked each
            assertThat(exported).hasSize(names.size() + 4);
            names.forEach((djl, torch) -> assertThat(exported.get(torch)).as(torch)
                    .isEqualTo(state.get("param/student/" + djl)));
            assertThat(exported).containsKeys("trunk.0.0.weight", "trunk.0.1.running_mean", "trunk.0.1.running_var",
                    "trunk.0.1.num_batches_tracked", "trunk.5.1.weight", "head.weight", "head.bias");
            assertThat(exported.get("trunk.0.0.weight").shape()).containsExactly(16, 1, 3, 3);
            assertThat(exported.get("trunk.0.1.num_batches_tracked").dtype()).isEqualTo(DType.I64);
            assertThat(exported.get("head.weight").shape()).containsExactly(RUN.numClasses(), 128);
        }
    }

    @Test
    void aCheckpointOfAnotherArchitectureIsRefusedNamingTheParameter() throws IOException {
        Path latest = mlpCheckpointLabelled(Architecture.CNN);
        assertThatThrownBy(() -> ZooExport.export(latest, dir.resolve("x.safetensors")))
                .isInstanceOf(IOException.class).hasMessageContaining("does not hold a cnn student");
    }

    /** examples/zoo.py defines no resnet: its export is refused in one line, not written unloadable. */
    @Test
    void aResnetStudentIsRefusedSayingWhichStudentsExport() throws IOException {
        Path latest = mlpCheckpointLabelled(Architecture.RESNET);
        Path out = dir.resolve("x.safetensors");
        assertThatThrownBy(() -> ZooExport.export(latest, out)).isInstanceOf(IOException.class)
                .hasMessageContaining("holds a resnet student; export writes cnn, mlp, vit and vit-pool students");
        assertThat(out).doesNotExist();
    }

    /** A checkpoint holding an mlp student whose config names {@code label}; returns its path. */
    private Path mlpCheckpointLabelled(Architecture label) throws IOException {
        StudentConfig mlp = StudentConfig.builder().optArch(Architecture.MLP).build();
        try (StudentModel model = new StudentModel(mlp, RUN)) {
            Checkpoint c = TrainingState.fresh(1, 1, 4).toCheckpoint(model.stateTensors(), 0,
                    new TrainingState.Experiment("unit", "t", "g", StudentConfig.builder().optArch(label).build().toString()));
            new CheckpointStore(dir, 1).save(c);
        }
        return ZooExport.select(dir, ZooExport.Which.LATEST);
    }
}
