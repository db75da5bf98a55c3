package io.kdstream.student;

import java.io.IOException;
import java.util.List;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;

/**
 * A student's evaluations on the test split: every {@code evalEvery} steps while training (on the
 * cheaper periodic set when there is one) and once at the end (always the whole test split). Each
 * sets the accuracy and loss gauges, tells the listeners, and writes {@code best.safetensors} (and a
 * TorchScript student's {@code student.pt}) when the accuracy is the best so far. Without a test
 * split there is no evaluation.
 */
final class Evaluator {

    private static final Logger LOG = LoggerFactory.getLogger(Evaluator.class);
    private static final int BATCH = 500;

    private final String group;
    private final StudentModel model;
    private final InputNormalization norm;
    private final ImageDataset test;
    private final ImageDataset periodic;
    private final int every;
    private final StudentMetrics metrics;
    private final List<StudentListener> listeners;
    private final CheckpointStore checkpoints;
    private final Function<TrainingState, Checkpoint> snapshot;
    private double last = Double.NaN;

    /**
     * When and on what the student is evaluated.
     *
     * @param test     the test split, or null for no evaluation
     * @param periodic a subset for the periodic evaluations, or null to use {@code test}
     * @param every    steps between periodic evaluations; 0 = only the final one
     */
    record Plan(ImageDataset test, ImageDataset periodic, int every) {
    }

    /** @param snapshot the checkpoint of a state with the model as it is now, for {@code best} */
    Evaluator(String group, StudentModel model, InputNormalization norm, Plan plan, StudentMetrics metrics,
              List<StudentListener> listeners, CheckpointStore checkpoints, Function<TrainingState, Checkpoint> snapshot) {
        this.group = group;
        this.model = model;
        this.norm = norm;
        this.test = plan.test();
        this.periodic = plan.periodic() != null ? plan.periodic() : plan.test();
        this.every = plan.every();
        this.metrics = metrics;
        this.listeners = listeners;
        this.checkpoints = checkpoints;
        this.snapshot = snapshot;
    }

    /** After a step: evaluates when one is due and training goes on (the final evaluation follows otherwise). */
    void afterStep(TrainingState state) throws IOException {
        if (every > 0 && state.step() % every == 0 && test != null && !state.complete()) {
            evaluate(state, periodic);
        }
    }

    /** At the end of a run that was not stopped: the whole test split. */
    void finish(TrainingState state) throws IOException {
        if (test != null) {
            evaluate(state, test);
        }
    }

    /** Accuracy of the last evaluation (NaN before the first). */
    double lastAccuracy() {
        return last;
    }

    private void evaluate(TrainingState state, ImageDataset data) throws IOException {
        long step = state.step();
        StudentModel.EvalResult e = model.evaluate(data, norm, BATCH);
        metrics.evaluated(e);
        LOG.info("{}: step {} test accuracy {} loss {}", group, step, String.format("%.4f", e.accuracy()),
                String.format("%.4f", e.loss()));
        listeners.forEach(l -> l.onEval(step, e.accuracy(), e.loss()));
        last = e.accuracy();
        if (state.improvedBy(e.accuracy())) {
            checkpoints.saveBest(snapshot.apply(state));
            model.exportStudent(checkpoints.dir()); // student.pt follows the best model (TorchScript students)
        }
    }
}
