package io.kdstream.service;

/**
 * A failure that ends a service with an exit code of its own and one line on stderr, not a stack
 * trace: there is nothing to retry or debug (another teacher took over this {@code --instance-id};
 * batches a student still needs were deleted). Implemented by the exceptions that say so;
 * {@link ServiceShell#runStoppable} turns them into the exit code.
 */
public interface ServiceExit {

    /** The process's exit code (documented in the service's {@code --help}). */
    int exitCode();
}
