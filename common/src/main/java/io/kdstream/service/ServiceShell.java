package io.kdstream.service;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;

import io.kdstream.config.CommandLines;
import io.kdstream.kafka.KafkaAccessErrors;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * What the teacher and the student services share around their work: the standalone {@code main},
 * the metrics server with {@code /readyz}, started before the engine, the model or Kafka are waited
 * for, and the run to an exit code with SIGTERM handled. The options both take are
 * {@link ServiceOptions} and {@link WorkerOptions}.
 */
public final class ServiceShell {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceShell.class);

    /** The service's work once its metrics server runs (null when {@code --metrics-port -1}). */
    @FunctionalInterface
    public interface Work {
        int run(MetricsServer server) throws Exception;
    }

    /** The service's work once it can be stopped; returns the exit code. */
    @FunctionalInterface
    public interface Stoppable {
        int run() throws Exception;
    }

    private ServiceShell() {
    }

    /** Runs {@code command} alone (the container images' {@code main}) and exits with its code. */
    public static void main(Callable<Integer> command, String[] args) {
        CommandLine cmd = CommandLines.configure(new CommandLine(command))
                .setExecutionExceptionHandler(new KafkaAccessErrors());
        System.exit(CommandLines.execute(cmd, args));
    }

    /**
     * Serves {@code /metrics}, {@code /healthz} and {@code /readyz} (200 once {@code ready} says so)
     * on {@code --metrics-port} while {@code work} runs.
     */
    public static int serve(ServiceOptions options, PrometheusMeterRegistry registry, BooleanSupplier ready,
                            Work work) throws Exception {
        try (MetricsServer server = options.metricsPort >= 0 ? MetricsServer.start(registry, options.metricsPort, ready)
                : null) {
            if (server != null) {
                LOG.info("metrics on http://0.0.0.0:{}/metrics", server.port());
            }
            return work.run(server);
        }
    }

    /**
     * Runs {@code work} with SIGTERM and Ctrl-C handled ({@link GracefulShutdown}): the signal calls
     * {@code stop}, and the JVM exits with the work's code once it has finished (at most
     * {@code grace} later, else 1). A {@link ServiceExit} ends the service with its own code and one
     * line on stderr; any failure marks {@code /healthz} failed with its message first.
     *
     * @param service the service's name, which starts a {@link ServiceExit}'s line
     * @param server  the metrics server, or null when there is none
     */
    public static int runStoppable(String service, MetricsServer server, Runnable stop, Duration grace,
                                   Stoppable work) throws Exception {
        try (GracefulShutdown shutdown = GracefulShutdown.install(stop, grace)) {
            int code;
            try {
                code = work.run();
            } catch (Exception | Error e) {
                if (server != null) {
                    server.markFailed(String.valueOf(e.getMessage()));
                }
                if (e instanceof ServiceExit exit) {
                    System.err.println(service + ": " + e.getMessage());
                    System.err.flush();
                    shutdown.done(exit.exitCode());
                    return exit.exitCode();
                }
                shutdown.done(1);
                throw e;
            }
            shutdown.done(code);
            return code;
        }
    }
}
