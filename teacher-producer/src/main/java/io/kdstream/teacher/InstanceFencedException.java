package io.kdstream.teacher;

import io.kdstream.service.ServiceExit;

/**
 * Another live teacher process uses the same {@code --instance-id}: it took this one's
 * transactional id or static group membership, so this one cannot publish or commit any more.
 * The newer process carries on; this one ends ({@link TeacherCommand} exits
 * {@value TeacherCommand#EXIT_FENCED}).
 */
public final class InstanceFencedException extends RuntimeException implements ServiceExit {
    private static final long serialVersionUID = 1L;

    InstanceFencedException(String instanceId, Throwable cause) {
        super("another teacher process took over --instance-id " + instanceId + " ("
                + cause.getClass().getSimpleName() + ": " + cause.getMessage()
                + "); every live teacher needs its own --instance-id", cause);
    }

    @Override
    public int exitCode() {
        return TeacherCommand.EXIT_FENCED;
    }
}
