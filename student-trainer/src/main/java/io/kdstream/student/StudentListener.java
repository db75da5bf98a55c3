package io.kdstream.student;

import java.nio.file.Path;

/** Training lifecycle callbacks, in the spirit of DJL's {@code TrainingListener}; all optional. */
public interface StudentListener {

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
