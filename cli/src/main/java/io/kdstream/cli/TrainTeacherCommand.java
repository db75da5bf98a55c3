package io.kdstream.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.model.Architecture;
import io.kdstream.model.Devices;
import io.kdstream.model.ModelCard;
import io.kdstream.data.ImageSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream train-teacher}: trains a zoo teacher from scratch, with progress and the ETA of the
 * whole training (a live bar on a terminal, plain lines in a log), test evaluation and a checkpoint
 * (weights + model card) after every epoch.
 */
@Command(name = "train-teacher",
        mixinStandardHelpOptions = true,
        description = {
                "Trains a teacher model from scratch and writes it with its model card.",
                "Trains on a dataset's train split, evaluates on the test split after every epoch and writes "
                        + "model.params + model.json (with the teacher id) to --out. If --out already holds a finished "
                        + "model of the same architecture and dataset, it is reused (the demo trains its teacher once); "
                        + "--force retrains."})
public final class TrainTeacherCommand implements Callable<Integer> {

    @Option(names = "--dataset", defaultValue = "fashion-mnist",
            description = "fashion-mnist, mnist, or a dataset directory (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--image-size", paramLabel = "H[,W]", converter = ImageSize.Checked.class,
            description = "Image folders: scale each image to cover HxW and center-crop it (docs/datasets.md); "
                    + "default: images used as they are (one size).")
    String imageSize;

    @Option(names = "--arch", converter = Architecture.Names.class, completionCandidates = Architecture.Names.class, defaultValue = "resnet",
            description = "Zoo architecture: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--device", defaultValue = "auto", converter = Devices.Names.class, description = Devices.HELP)
    String device;

    @Option(names = "--epochs", converter = Bounded.PositiveInt.class, defaultValue = "10", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", converter = Bounded.PositiveInt.class, defaultValue = "128", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", converter = Bounded.PositiveReal.class, defaultValue = "0.1",
            description = "Peak learning rate of the one-cycle schedule (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", converter = Bounded.NonNegativeReal.class, defaultValue = "5e-4", description = "Weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--augment", converter = AugmentPolicy.Names.class, defaultValue = "flip",
            description = "none, flip, crop, crop+flip, optionally +erase (default: ${DEFAULT-VALUE}).")
    AugmentPolicy augment;

    @Option(names = "--seed", defaultValue = "1", description = "Run seed: initial weights, shuffle, augmentation, subset (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--train-fraction", converter = Bounded.Fraction.class, defaultValue = "1.0",
            description = "Stratified share of the train split to use (default: ${DEFAULT-VALUE}).")
    double trainFraction;

    @Option(names = "--train-limit", converter = Bounded.NonNegativeInt.class, defaultValue = "0",
            description = "At most this many training samples, stratified; 0 = all (default: ${DEFAULT-VALUE}).")
    int trainLimit;

    @Option(names = "--test-limit", converter = Bounded.NonNegativeInt.class, defaultValue = "0",
            description = "Evaluate on this many test samples, stratified; 0 = all (default: ${DEFAULT-VALUE}).")
    int testLimit;

    @Option(names = "--threads", converter = Bounded.PositiveInt.class, defaultValue = "1",
            description = "libtorch intra-op threads; 2 is faster on an idle 2-core machine, 1 far steadier when other processes share it (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--out", converter = PathOption.Directory.class, defaultValue = "kdstream-work/teacher",
            description = "Output directory for model.params and model.json (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--force", description = "Retrain even if --out already holds a finished model.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        Architecture architecture = Architecture.parse(arch);
        AugmentPolicy policy = augment;
        if (threads <= 0) {
            throw new IllegalArgumentException("--threads must be positive, got " + threads);
        }
        ModelCard cached = finishedModel(architecture);
        if (cached != null) {
            System.out.printf("teacher already trained in %s (arch %s, %s, test accuracy %.4f, id %s); use --force to retrain%n",
                    out, cached.arch(), cached.dataset(), cached.testAccuracy(), cached.parametersSha256());
            return 0;
        }
        // Must be set before the PyTorch engine starts; read once by DJL at engine load.
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");

        ModelCard card = TeacherTrainer.builder()
                .setDataset(dataset)
                .optImageSize(imageSize == null ? null : ImageSize.parse(imageSize))
                .setOutputDir(out)
                .optDevice(Devices.resolve(device))
                .optArchitecture(architecture)
                .optEpochs(epochs)
                .optBatchSize(batchSize)
                .optLearningRate((float) lr)
                .optWeightDecay((float) weightDecay)
                .optAugment(policy)
                .optSeed(seed)
                .optTrainFraction(trainFraction)
                .optTrainLimit(trainLimit)
                .optTestLimit(testLimit)
                .optProgress(TeacherProgress.forStdout())
                .build()
                .train();
        System.out.printf("teacher %s written to %s: test accuracy %.4f, feature dim %d, id %s%n",
                card.arch(), out, card.testAccuracy(), card.featureDim(), card.parametersSha256());
        return 0;
    }

    /** The card in --out when it is a completed run of the same architecture and dataset. */
    private ModelCard finishedModel(Architecture architecture) {
        if (force || !out.resolve(ModelCard.FILE_NAME).toFile().isFile()) {
            return null;
        }
        try {
            ModelCard c = ModelCard.read(out);
            Object done = c.training().get("epochs");
            Object planned = c.training().get("epochsPlanned");
            boolean complete = done != null && done.equals(planned) && ((Number) done).intValue() == epochs;
            // a model trained at another --image-size is another model
            boolean sameSize = java.util.Objects.equals(c.training().get("imageSize"),
                    imageSize == null ? null : ImageSize.parse(imageSize).toString());
            return complete && sameSize && architecture.id().equals(c.arch()) && dataset.equals(c.dataset()) ? c : null;
        } catch (IOException e) {
            return null;
        }
    }
}
