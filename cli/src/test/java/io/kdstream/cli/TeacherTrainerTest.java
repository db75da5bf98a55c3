package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.kdstream.model.ModelCard;
import io.kdstream.model.FeatureModels;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.Architecture;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.RequiresDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RequiresDataset
class TeacherTrainerTest {
    @TempDir
    Path tmp;

    @Test
    void fewStepsLearnSomethingAndLeaveALoadableCheckpoint() throws IOException {
        List<TeacherTrainer.EpochResult> epochs = new ArrayList<>();
        Path out = tmp.resolve("mlp");
        ModelCard card = TeacherTrainer.builder()
                .setDataset("fashion-mnist")
                .setOutputDir(out)
                .optArchitecture(Architecture.MLP)
                .optEpochs(2)
                .optBatchSize(128)
                .optTrainLimit(1024)
                .optTestLimit(500)
                .optAugment(AugmentPolicy.NONE)
                .optProgress(new TeacherTrainer.Progress() {
                    @Override
                    public void onEpochEnd(int epoch, TeacherTrainer.EpochResult r) {
                        epochs.add(r);
                    }
                })
                .build()
                .train();
        assertThat(epochs).hasSize(2);
        assertThat(epochs.get(1).trainLoss()).isLessThan(epochs.get(0).trainLoss());
        assertThat(card.testAccuracy()).as("well above chance (0.1) after 16 steps").isGreaterThan(0.4);
        assertThat(card.training()).containsEntry("epochs", 2).containsEntry("trainSamples", 1024);
        assertThat(Files.exists(out.resolve(DjlFeatureModel.PARAMS_FILE))).isTrue();
        try (FeatureModel loaded = FeatureModels.load(out)) {
            assertThat(loaded.id()).isEqualTo(card.parametersSha256());
            assertThat(loaded.card().testAccuracy()).isEqualTo(card.testAccuracy());
        }
    }

    @Test
    void theSeedFixesTheTeacherToTheBit() throws IOException {
        // the demo's table is reproducible only if its teacher is: --seed must fix the initial weights too
        String first = trainTiny("a", 7).parametersSha256();
        assertThat(trainTiny("b", 7).parametersSha256()).as("same seed, after another training used the RNG")
                .isEqualTo(first);
        assertThat(trainTiny("c", 8).parametersSha256()).as("another seed").isNotEqualTo(first);
    }

    private ModelCard trainTiny(String dir, long seed) throws IOException {
        return TeacherTrainer.builder()
                .setDataset("fashion-mnist")
                .setOutputDir(tmp.resolve(dir))
                .optArchitecture(Architecture.MLP)
                .optEpochs(1)
                .optBatchSize(128)
                .optTrainLimit(512)
                .optTestLimit(200)
                .optAugment(AugmentPolicy.parse("crop+flip"))
                .optSeed(seed)
                .build()
                .train();
    }
}
