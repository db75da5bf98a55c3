package io.kdstream.student;

/** K non-finite losses in a row: the trainer restored its last checkpoint and stopped. */
public class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
