package io.kdstream.service;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * SIGTERM / Ctrl-C handling for a service: on the signal, ask the work to stop, wait (bounded)
 * until the main thread reports it finished cleanly (transaction aborted, checkpoint written), then
 * end the JVM with the main thread's exit code. Without this a JVM ended by SIGTERM exits 143, and
 * a main thread that calls {@code System.exit} during shutdown blocks forever.
 *
 * <pre>{@code
 * try (GracefulShutdown shutdown = GracefulShutdown.install(worker::stop, Duration.ofSeconds(30))) {
 *     int code = work();
 *     shutdown.done(code);
 *     return code;
 * }
 * }</pre>
 */
public final class GracefulShutdown implements AutoCloseable {

    private final Thread hook;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicInteger exitCode = new AtomicInteger(1);
    private volatile boolean signalled;

    private GracefulShutdown(Runnable stop, Duration grace) {
        this.hook = new Thread(() -> {
            signalled = true;
            stop.run();
            try {
                boolean clean = finished.await(grace.toMillis(), TimeUnit.MILLISECONDS);
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(clean ? exitCode.get() : 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kdstream-shutdown");
    }

    /**
     * @param stop  asks the work to stop (must return quickly)
     * @param grace how long to wait for the work to finish before exiting with code 1
     */
    public static GracefulShutdown install(Runnable stop, Duration grace) {
        GracefulShutdown s = new GracefulShutdown(stop, grace);
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    /** Whether a signal asked the service to stop. */
    public boolean signalled() {
        return signalled;
    }

    /** The work is over (normally or after a stop): a pending signal ends the JVM with this code. */
    public void done(int code) {
        exitCode.set(code);
        finished.countDown();
    }

    /** Removes the hook when the work ended without a signal. */
    @Override
    public void close() {
        if (!signalled) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook runs and exits with the reported code
            }
        }
    }
}
