package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDManager;
import io.kdstream.model.ModelCard;
import io.kdstream.model.FeatureModels;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.Architecture;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.Datasets;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.data.Split;
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
    void perStepArraysAreFreedWithTheirSubManager() throws IOException {
        ImageDataset train = Datasets.load("fashion-mnist", Split.TRAIN);
        InputNormalization norm = InputNormalization.forDataset(train);
        BatchSource src = new BatchSource(train, 5, 256, AugmentPolicy.parse("crop+flip"));
        try (DjlFeatureModel model = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist", norm)) {
            NDManager base = model.model().getNDManager();
            // Warm-up (at least 800 steps) until the JVM has collected its young generation a few times: before that RSS
            // grows as the Java heap is first touched (batches are Java arrays), which says nothing
            // about native memory; glibc and libtorch pools also settle in this time.
            long gcs = gcCount();
            int epoch = 0;
            while ((gcCount() - gcs < 3 || epoch < 4) && epoch < 20) {
                runSteps(model, base, src, epoch++, 200);
            }
            int arraysBefore = base.getManagedArrays().size();
            long before = rssKb();
            runSteps(model, base, src, epoch, 200);
            long grownMb = (rssKb() - before) / 1024;
            // Exact: no array outlives its step (a step that kept its arrays adds several per step).
            assertThat(base.getManagedArrays()).as("arrays left in the model's manager").hasSize(arraysBefore);
            // Coarse: 200 steps allocate ~330 MB of native inputs and activations; kept alive, RSS would
            // grow by that. Allocator and heap noise on a cold JVM reach ~60 MB, hence the margin.
            assertThat(grownMb).as("memory growth over 200 steps after %d warm-up epochs", epoch).isLessThan(150);
        }
    }

    private static long gcCount() {
        return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionCount).sum();
    }

    private static void runSteps(DjlFeatureModel model, NDManager base, BatchSource src, int epoch, int steps) {
        for (int b = 0; b < steps; b++) {
            Batch batch = src.batch(epoch, b);
            try (NDManager sub = base.newSubManager()) {
                model.forward(batch.toModelInput(sub, InputNormalization.forDataset(src.dataset())))
                        .get(0).sum().getFloat();
            }
        }
    }

    private static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
