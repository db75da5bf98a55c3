package io.kdstream.student;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.Tensor;

/**
 * Where a student stands, and the one home of its exactly-once bookkeeping (DESIGN.md §6): the step
 * (the learning rate is a function of it), the pass (the first read of the topic, then one per
 * replay), the best test accuracy so far, the batches trained, the next offset to read per
 * partition, and the optimizer's update count. A checkpoint is this state plus the model's tensors;
 * resuming from it seeks to the offsets and skips every batch already trained, so a batch is trained
 * exactly once per pass even when the stream redelivers.
 *
 * <p>Only this class knows the checkpoint attribute keys ({@code pass}, {@code best_accuracy},
 * {@code optimizer_updates} and the {@link Experiment} keys); they are the keys checkpoints have
 * always had, so older checkpoints resume and newer ones read back in older trainers.
 */
final class TrainingState {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingState.class);

    private static final String PASS = "pass";
    private static final String BEST_ACCURACY = "best_accuracy";
    private static final String OPTIMIZER_UPDATES = "optimizer_updates";
    private static final String RUN_ID = "run_id";
    private static final String TEACHER_ID = "teacher_id";
    private static final String GROUP = "group";
    private static final String CONFIG = "config";

    private long step;
    private int pass;
    private double best;
    private final TrainedBatches trained;
    private final Map<Integer, Long> next;
    private final long optimizerUpdates;

    private TrainingState(long step, int pass, double best, TrainedBatches trained, Map<Integer, Long> next,
                          long optimizerUpdates) {
        this.step = step;
        this.pass = pass;
        this.best = best;
        this.trained = trained;
        this.next = new HashMap<>(next);
        this.optimizerUpdates = optimizerUpdates;
    }

    /** A student that has trained nothing: {@code passes} reads of a run of {@code epochs × batchesPerEpoch}. */
    static TrainingState fresh(int passes, int epochs, int batchesPerEpoch) {
        return new TrainingState(0, 0, Double.NaN, new TrainedBatches(passes, epochs, batchesPerEpoch), Map.of(), 0);
    }

    /** The state a checkpoint holds; attributes it lacks take their fresh values. */
    static TrainingState from(Checkpoint c) {
        Map<String, String> a = c.attributes();
        return new TrainingState(c.step(), Integer.parseInt(a.getOrDefault(PASS, "0")),
                Double.parseDouble(a.getOrDefault(BEST_ACCURACY, "NaN")), TrainedBatches.decode(c.trained()),
                c.offsets(), Long.parseLong(a.getOrDefault(OPTIMIZER_UPDATES, "0")));
    }

    /** The experiment a checkpoint is labelled with (null fields where an old checkpoint lacks them). */
    static Experiment experimentOf(Checkpoint c) {
        Map<String, String> a = c.attributes();
        return new Experiment(a.get(RUN_ID), a.get(TEACHER_ID), a.get(GROUP), a.get(CONFIG));
    }

    /**
     * This state with the model's tensors and optimizer update count, labelled with the experiment
     * it belongs to.
     */
    Checkpoint toCheckpoint(Map<String, Tensor> modelState, long optimizerUpdates, Experiment experiment) {
        Map<String, String> attrs = new HashMap<>();
        attrs.put(PASS, Integer.toString(pass));
        attrs.put(BEST_ACCURACY, Double.toString(best));
        attrs.put(OPTIMIZER_UPDATES, Long.toString(optimizerUpdates));
        attrs.put(RUN_ID, experiment.runId());
        attrs.put(TEACHER_ID, experiment.teacherId());
        attrs.put(GROUP, experiment.group());
        attrs.put(CONFIG, experiment.config());
        return new Checkpoint(modelState, step, next, trained.encode(), attrs);
    }

    /** Optimizer steps taken. */
    long step() {
        return step;
    }

    /** The read of the topic in progress (0 = the first pass). */
    int pass() {
        return pass;
    }

    /** Best test accuracy so far (NaN before the first evaluation). */
    double best() {
        return best;
    }

    TrainedBatches trained() {
        return trained;
    }

    /** Next offset to read per partition of the pass in progress (a live view, for the lag gauge). */
    Map<Integer, Long> next() {
        return next;
    }

    /** The optimizer's update count when this state was restored (the model's is the live one). */
    long optimizerUpdates() {
        return optimizerUpdates;
    }

    boolean complete() {
        return trained.complete();
    }

    /** Records that the item at {@code offset} was read: whatever becomes of it, it is not read again. */
    void consumed(int partition, long offset) {
        next.put(partition, offset + 1);
    }

    /**
     * Records where every position of a joined feed resumes ({@link BatchFeed.Joined#next()}): a
     * join takes records out of order, so it, not the last offset read, knows what is safe.
     */
    void consumedUpTo(Map<Integer, Long> positions) {
        next.putAll(positions);
    }

    /** Whether this pass already trained batch {@code index} of {@code epoch} (a redelivery). */
    boolean alreadyTrained(int epoch, int index) {
        return trained.contains(pass, epoch, index);
    }

    /** Records an applied optimizer step on batch {@code index} of {@code epoch}. */
    void stepped(int epoch, int index) {
        trained.add(pass, epoch, index);
        step++;
    }

    /**
     * Starts the next pass when this one has trained every batch and {@code passes} allow another:
     * the next offsets start over, since the feed replays the topic from its beginning.
     *
     * @return whether a new pass started (the feed must then rewind to {@link #pass()})
     */
    boolean advancePass(int passes) {
        if (trained.countInPass(pass) != trained.batchesPerPass() || pass + 1 >= passes) {
            return false;
        }
        pass++;
        next.clear();
        return true;
    }

    /** Takes {@code accuracy} as the best if it is (the first evaluation always is); true if it was. */
    boolean improvedBy(double accuracy) {
        if (accuracy <= best) {
            return false;
        }
        best = accuracy;
        return true;
    }

    /**
     * Whether the next offsets may be committed to the consumer group: only those of the first pass,
     * since a replay's positions would look like negative lag.
     */
    boolean commitsOffsets() {
        return pass == 0;
    }

    /** A snapshot of the next offsets, to commit. */
    Map<Integer, Long> offsets() {
        return Map.copyOf(next);
    }

    /** Which experiment a checkpoint belongs to: a student resumes only its own run and teacher. */
    record Experiment(String runId, String teacherId, String group, String config) {

        /**
         * Refuses a checkpoint of another run or teacher; warns when the configuration differs (the
         * experiment goes on with this one).
         */
        void requireResumable(Checkpoint c, Path dir) {
            String runIdThere = c.attributes().get(RUN_ID);
            String teacherThere = c.attributes().get(TEACHER_ID);
            if (!runId.equals(runIdThere) || !teacherId.equals(teacherThere)) {
                throw new IllegalStateException("checkpoint directory " + dir + " belongs to run " + runIdThere
                        + " (teacher " + teacherThere + "), not " + runId + " (teacher " + teacherId
                        + "): use another --checkpoint-dir");
            }
            String configThere = c.attributes().get(CONFIG);
            if (configThere != null && !configThere.equals(config)) {
                LOG.warn("{}: resuming with a configuration that differs from the checkpoint's: was {}", group,
                        configThere);
            }
        }
    }
}
