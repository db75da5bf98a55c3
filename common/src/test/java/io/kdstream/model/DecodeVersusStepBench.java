package io.kdstream.model;

import ai.djl.Device;
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
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.Datasets;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.Split;

/**
 * Manual measurement for docs/benchmarks.md (not a test): cost of building a batch
 * (gather + crop+flip + normalize + NDArray) versus one student training step, batch 256.
 * Run: java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -cp TEST_CLASSPATH io.kdstream.model.DecodeVersusStepBench
 */
public final class DecodeVersusStepBench {
    private DecodeVersusStepBench() {
    }

    public static void main(String[] args) {
        ImageDataset train = Datasets.load("fashion-mnist", Split.TRAIN);
        InputNormalization norm = InputNormalization.forDataset(train);
        BatchSource src = new BatchSource(train, 1, 256, AugmentPolicy.parse("crop+flip"));
        int n = 100;
        try (NDManager m = NDManager.newBaseManager()) {
            for (int pass = 0; pass < 2; pass++) {
                long t0 = System.nanoTime();
                for (int b = 0; b < n; b++) {
                    try (NDManager sub = m.newSubManager()) {
                        src.batch(pass, b).toModelInput(sub, norm);
                    }
                }
                if (pass == 1) {
                    System.out.printf("batch build (gather+crop+flip+normalize+NDArray), B=256: %.2f ms%n",
                            (System.nanoTime() - t0) / 1e6 / n);
                }
            }
        }
        for (Architecture arch : new Architecture[] {Architecture.MLP, Architecture.CNN, Architecture.RESNET}) {
            try (DjlFeatureModel model = DjlFeatureModel.create(arch, 1, 28, 28, 10, "fashion-mnist", norm);
                 Trainer trainer = model.model().newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                         .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build())
                         .optDevices(new Device[] {Device.cpu()}))) {
                trainer.initialize(new Shape(1, 1, 28, 28));
                Loss loss = Loss.softmaxCrossEntropyLoss();
                int steps = arch == Architecture.RESNET ? 10 : 40;
                long total = 0;
                for (int s = 0; s < steps + 5; s++) {
                    Batch batch = src.batch(3, s);
                    try (NDManager sub = trainer.getManager().newSubManager()) {
                        NDArray x = batch.toModelInput(sub, norm);
                        NDArray y = batch.labels(sub);
                        long t0 = System.nanoTime();
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(new NDList(x)).get(1);
                            gc.backward(loss.evaluate(new NDList(y), new NDList(logits)));
                        }
                        trainer.step();
                        if (s >= 5) {
                            total += System.nanoTime() - t0;
                        }
                    }
                }
                System.out.printf("%s train step (fwd+bwd+SGD), B=256: %.2f ms%n", arch.id(), total / 1e6 / steps);
            }
        }
    }
}
