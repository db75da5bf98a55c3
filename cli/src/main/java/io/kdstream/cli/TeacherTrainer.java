package io.kdstream.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.kdstream.model.ModelCard;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.Architecture;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.Datasets;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.ImageSize;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.Split;

/**
 * Trains a zoo model from scratch on a dataset's train split with SGD (momentum 0.9, weight
 * decay) under a one-cycle schedule (linear warm-up, cosine decay to zero), which
 * reaches good accuracy in few epochs; evaluates on the test split after every epoch and
 * checkpoints weights and model card to the output directory each time.
 *
 * <p>Uses the one GradientCollector a JVM may have open (PLATFORM-NOTES), so do not run it next
 * to a student trainer in the same process.
 */
public final class TeacherTrainer {

    /** Progress callbacks, e.g. for a progress bar. Called on the training thread. */
    public interface Progress {
        default void onStart(int epochs, int stepsPerEpoch, int samplesPerEpoch) {
        }

        default void onStep(int epoch, int step, int samplesInEpoch, float loss, float accuracy) {
        }

        default void onEpochEnd(int epoch, EpochResult result) {
        }
    }

    /** One epoch's numbers: mean train loss and accuracy, test accuracy, wall time of training. */
    public record EpochResult(int epoch, double trainLoss, double trainAccuracy, double testAccuracy,
                              double trainSeconds, double evalSeconds) {
    }

    private final String dataset;
    private final Architecture arch;
    private final int epochs;
    private final int batchSize;
    private final float peakLr;
    private final float weightDecay;
    private final AugmentPolicy augment;
    private final long seed;
    private final double trainFraction;
    private final int trainLimit;
    private final int testLimit;
    private final ImageSize imageSize;
    private final Path outDir;
    private final Progress progress;
    private final Device device;

    private TeacherTrainer(Builder b) {
        this.dataset = Objects.requireNonNull(b.dataset, "dataset");
        this.outDir = Objects.requireNonNull(b.outDir, "output directory");
        this.arch = b.arch;
        this.epochs = b.epochs;
        this.batchSize = b.batchSize;
        this.peakLr = b.peakLr;
        this.weightDecay = b.weightDecay;
        this.augment = b.augment;
        this.seed = b.seed;
        this.trainFraction = b.trainFraction;
        this.trainLimit = b.trainLimit;
        this.testLimit = b.testLimit;
        this.imageSize = b.imageSize;
        this.progress = b.progress;
        this.device = b.device != null ? b.device : Engine.getEngine("PyTorch").defaultDevice();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Trains, checkpointing after every epoch; returns the final model card (also in outDir). */
    public ModelCard train() throws IOException {
        ImageDataset fullTrain = Datasets.load(dataset, Split.TRAIN, imageSize);
        ImageDataset train = fullTrain.subset(trainFraction, trainLimit, seed);
        ImageDataset test = Datasets.load(dataset, Split.TEST, imageSize);
        if (testLimit > 0 && testLimit < test.size()) {
            test = test.subset(1.0, testLimit, seed);
        }
        InputNormalization norm = InputNormalization.forDataset(fullTrain);
        BatchSource batches = new BatchSource(train, seed, batchSize, augment);
        int steps = batches.batchesPerEpoch();
        int totalSteps = steps * epochs;
        int warmup = Math.max(1, Math.min(totalSteps / 10, (int) Math.ceil(steps * 0.3)));
        Tracker schedule = update -> {
            if (update < warmup) {
                return peakLr * (update + 1) / warmup;
            }
            double t = Math.min(1.0, (double) (update - warmup) / Math.max(1, totalSteps - warmup));
            return (float) (peakLr * 0.5 * (1 + Math.cos(Math.PI * t)));
        };
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.sgd().setLearningRateTracker(schedule).optMomentum(0.9f)
                        .optWeightDecays(weightDecay).build())
                .optDevices(new Device[] {device});
        Loss loss = config.getLossFunction();

        // --seed also fixes the initial weights: the same arguments on the same machine type give the same teacher
        Engine.getEngine("PyTorch").setRandomSeed((int) seed);
        try (DjlFeatureModel model = DjlFeatureModel.create(arch, train.channels(), train.height(), train.width(),
                train.numClasses(), dataset, norm, device);
             Trainer trainer = model.model().newTrainer(config)) {
            trainer.initialize(new Shape(1, train.channels(), train.height(), train.width()));
            progress.onStart(epochs, steps, train.size());
            ModelCard card = model.card();
            long started = System.nanoTime();
            for (int epoch = 0; epoch < epochs; epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                long correct = 0;
                int seen = 0;
                for (int step = 0; step < steps; step++) {
                    Batch batch = batches.batch(epoch, step);
                    // Every per-step array lives in this sub-manager: native memory is freed each step.
                    try (NDManager sub = trainer.getManager().newSubManager()) {
                        NDArray x = batch.toModelInput(sub, norm);
                        NDArray y = batch.labels(sub);
                        NDArray logits;
                        NDArray l;
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            logits = trainer.forward(new NDList(x)).get(1);
                            l = loss.evaluate(new NDList(y), new NDList(logits));
                            gc.backward(l);
                        }
                        trainer.step();
                        float stepLoss = l.getFloat();
                        long stepCorrect = logits.argMax(1).eq(y).sum().getLong();
                        lossSum += stepLoss * batch.size();
                        correct += stepCorrect;
                        seen += batch.size();
                        progress.onStep(epoch, step, seen, stepLoss, (float) stepCorrect / batch.size());
                    }
                }
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                long e0 = System.nanoTime();
                double testAcc = evaluate(trainer, test, norm);
                EpochResult r = new EpochResult(epoch, lossSum / seen, (double) correct / seen, testAcc,
                        trainSeconds, (System.nanoTime() - e0) / 1e9);
                Map<String, Object> facts = new LinkedHashMap<>();
                facts.put("epochs", epoch + 1);
                facts.put("epochsPlanned", epochs);
                facts.put("batchSize", batchSize);
                facts.put("peakLearningRate", peakLr);
                facts.put("weightDecay", weightDecay);
                facts.put("schedule", "sgd momentum 0.9, linear warm-up " + warmup + " steps, cosine to 0");
                facts.put("augment", augment.toString());
                facts.put("seed", seed);
                if (imageSize != null) {
                    facts.put("imageSize", imageSize.toString());
                }
                facts.put("trainSamples", train.size());
                facts.put("testSamples", test.size());
                facts.put("trainLoss", r.trainLoss());
                facts.put("trainAccuracy", r.trainAccuracy());
                facts.put("wallSeconds", Math.round((System.nanoTime() - started) / 1e8) / 10.0);
                model.updateCard(c -> c.withTestAccuracy(testAcc).withTraining(facts));
                card = model.save(outDir);
                progress.onEpochEnd(epoch, r);
            }
            return card;
        }
    }

    /** Top-1 accuracy on {@code test}, in inference mode (BatchNorm running statistics). */
    static double evaluate(Trainer trainer, ImageDataset test, InputNormalization norm) {
        BatchSource src = new BatchSource(test, 0, 500, AugmentPolicy.NONE);
        long correct = 0;
        for (int b = 0; b < src.batchesPerEpoch(); b++) {
            Batch batch = src.batch(0, b);
            try (NDManager sub = trainer.getManager().newSubManager()) {
                NDArray logits = trainer.evaluate(new NDList(batch.toModelInput(sub, norm))).get(1);
                correct += logits.argMax(1).eq(batch.labels(sub)).sum().getLong();
            }
        }
        return (double) correct / test.size();
    }

    public static final class Builder {
        private String dataset;
        private Architecture arch = Architecture.RESNET;
        private int epochs = 10;
        private int batchSize = 128;
        private float peakLr = 0.1f;
        private float weightDecay = 5e-4f;
        private AugmentPolicy augment = AugmentPolicy.parse("flip");
        private long seed = 1;
        private double trainFraction = 1.0;
        private int trainLimit;
        private int testLimit;
        private ImageSize imageSize;
        private Path outDir;
        private Progress progress = new Progress() { };
        private Device device;

        public Builder setDataset(String dataset) {
            this.dataset = dataset;
            return this;
        }

        /** Image folders: resize and center-crop every image to this size (null = as they are). */
        public Builder optImageSize(ImageSize size) {
            this.imageSize = size;
            return this;
        }

        public Builder setOutputDir(Path dir) {
            this.outDir = dir;
            return this;
        }

        /** The device the model, its arrays and the trainer live on (default: the engine's default). */
        public Builder optDevice(Device device) {
            this.device = device;
            return this;
        }

        public Builder optArchitecture(Architecture arch) {
            this.arch = Objects.requireNonNull(arch);
            return this;
        }

        public Builder optEpochs(int epochs) {
            if (epochs <= 0) {
                throw new IllegalArgumentException("epochs must be positive, got " + epochs);
            }
            this.epochs = epochs;
            return this;
        }

        public Builder optBatchSize(int batchSize) {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        public Builder optLearningRate(float peak) {
            if (!(peak > 0)) {
                throw new IllegalArgumentException("learning rate must be positive, got " + peak);
            }
            this.peakLr = peak;
            return this;
        }

        public Builder optWeightDecay(float wd) {
            if (wd < 0) {
                throw new IllegalArgumentException("weight decay must be >= 0, got " + wd);
            }
            this.weightDecay = wd;
            return this;
        }

        public Builder optAugment(AugmentPolicy policy) {
            this.augment = Objects.requireNonNull(policy);
            return this;
        }

        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder optTrainFraction(double fraction) {
            this.trainFraction = fraction;
            return this;
        }

        public Builder optTrainLimit(int limit) {
            this.trainLimit = limit;
            return this;
        }

        /** Evaluate on a stratified subset of this many test samples (0 = all); for quick runs. */
        public Builder optTestLimit(int limit) {
            this.testLimit = limit;
            return this;
        }

        public Builder optProgress(Progress progress) {
            this.progress = Objects.requireNonNull(progress);
            return this;
        }

        public TeacherTrainer build() {
            return new TeacherTrainer(this);
        }
    }
}
