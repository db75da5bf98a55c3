package io.kdstream.service;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;

import io.kdstream.config.CommandLines;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.KafkaAccessErrors;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * What the teacher and the student services share around their work: the standalone {@code main},
 * the start-up checks of options that go together, and the metrics server with {@code /readyz},
 * started before the engine, the model or Kafka are waited for.
 */
public final class ServiceShell {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceShell.class);

    /** The service's work once its metrics server runs (null when {@code --metrics-port -1}). */
    @FunctionalInterface
    public interface Work {
        int run(MetricsServer server) throws Exception;
    }

    private ServiceShell() {
    }

    /** Runs {@code command} alone (the container images' {@code main}) and exits with its code. */
    public static void main(Callable<Integer> command, String[] args) {
        CommandLine cmd = CommandLines.configure(new CommandLine(command))
                .setExecutionExceptionHandler(new KafkaAccessErrors());
        System.exit(CommandLines.execute(cmd, args));
    }

    /** Refuses {@code --input-mean} without {@code --input-std} (and other mismatches) as a usage error. */
    public static void checkInputNormalization(CommandLine.Model.CommandSpec spec, List<Float> mean, List<Float> std) {
        try {
            InputNormalization.checkOptions(mean, std);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e, null, null);
        }
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
}
