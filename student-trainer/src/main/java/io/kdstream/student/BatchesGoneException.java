package io.kdstream.student;

import io.kdstream.service.ServiceExit;

/**
 * Feature batches this student still needs were deleted from {@code <run>.features} (retention
 * or an admin's {@code deleteRecords} moved the log start offset past them). They can never
 * arrive, so the student stops at once with exit code {@value #EXIT_CODE} instead of skipping
 * them or waiting for them until {@code --idle-timeout}. The message is one line naming the run,
 * the missing range and the cause.
 */
public final class BatchesGoneException extends RuntimeException implements ServiceExit {

    /** Exit code of a student whose batches were deleted before it read them. */
    public static final int EXIT_CODE = 6;

    BatchesGoneException(String message) {
        super(message);
    }

    @Override
    public int exitCode() {
        return EXIT_CODE;
    }
}
