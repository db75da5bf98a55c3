package io.kdstream;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import org.junit.jupiter.api.Test;

/** The PyTorch engine loads from the bundled native jar, offline, and trains. */
class PyTorchEngineSmokeTest {

    @Test
    void pytorchEngineLoadsOfflineAndTrainsOneStep() {
        assertThat(Boolean.getBoolean("ai.djl.offline")).as("tests must run with -Dai.djl.offline=true").isTrue();
        Engine engine = Engine.getEngine("PyTorch");
        assertThat(engine.getEngineName()).isEqualTo("PyTorch");
        assertThat(engine.getVersion()).startsWith("2.7.1");

        try (Model model = Model.newInstance("smoke", "PyTorch")) {
            model.setBlock(Linear.builder().setUnits(1).build());
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(4, 3));
                NDManager m = trainer.getManager();
                NDArray x = m.randomNormal(new Shape(4, 3));
                NDArray y = x.sum(new int[] {1}, true);
                float before = loss(trainer, x, y);
                try (NDManager step = m.newSubManager()) {
                    // copies owned by the step's manager: closing it must not free x and y
                    NDArray bx = x.duplicate();
                    NDArray by = y.duplicate();
                    bx.attach(step);
                    by.attach(step);
                    Batch batch = new Batch(step, new NDList(bx), new NDList(by), 4, null, null, 0, 1);
                    EasyTrain.trainBatch(trainer, batch);
                    trainer.step();
                }
                assertThat(loss(trainer, x, y)).as("one SGD step lowers the loss").isLessThan(before);
            }
        }
    }

    private static float loss(Trainer trainer, NDArray x, NDArray y) {
        try (NDManager sub = trainer.getManager().newSubManager()) {
            NDArray pred = trainer.evaluate(new NDList(x)).singletonOrThrow();
            pred.attach(sub);
            NDArray l = trainer.getLoss().evaluate(new NDList(y), new NDList(pred));
            l.attach(sub);
            return l.getFloat();
        }
    }
}
