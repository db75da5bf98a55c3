package io.kdstream.student;

import java.nio.file.Path;

/** Training lifecycle callbacks, in the spirit of DJL's {@code TrainingListener}; all optional. */
public interface StudentListener {

    /**
     * Before the first step of this process: {@code step} is the step of the checkpoint it resumed
     * from (0 when it starts fresh). Steps after it that an earlier process took were lost with
     * that process and are taken again.
     */
    default void onStart(long step) {
    }

    /** After an optimizer step on batch {@code key} ({@code <epoch>/<batch>}) of {@code pass}. */
    default void onStep(StepEvent e) {
    }

    /** After a checkpoint reached the disk. */
    default void onCheckpoint(long step, Path file) {
    }

    /** After an evaluation on the test split. */
    default void onEval(long step, double accuracy, double loss) {
    }

    /** A step's facts. */
    record StepEvent(long step, int pass, String key, double lr, double total, double ce, double feature, double kd,
                     int trained, int totalBatches, double samplesPerSecond) {
    }
}
