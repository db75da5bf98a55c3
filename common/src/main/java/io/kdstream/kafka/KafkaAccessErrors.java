package io.kdstream.kafka;

import java.util.Optional;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns a refused login or a missing ACL anywhere in a service's start-up or run into one clear
 * line on stderr and exit code {@value #EXIT_CODE}, instead of a stack trace (or a retry loop):
 * neither fixes itself by waiting. Any other exception is left to picocli's default handling.
 *
 * <pre>{@code
 * new CommandLine(new StudentCommand()).setExecutionExceptionHandler(new KafkaAccessErrors()).execute(args);
 * }</pre>
 */
public final class KafkaAccessErrors implements IExecutionExceptionHandler {

    /** Exit code of a service whose Kafka credentials or ACLs are wrong. */
    public static final int EXIT_CODE = 4;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parsed) throws Exception {
        Optional<String> line = describe(ex);
        if (line.isEmpty()) {
            throw ex;
        }
        cmd.getErr().println(cmd.getCommandName() + ": " + line.get());
        cmd.getErr().flush();
        return EXIT_CODE;
    }

    /** The one-line explanation if {@code t} (or a cause) is an authentication or authorization failure. */
    public static Optional<String> describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof AuthenticationException) {
                return Optional.of("Kafka refused to authenticate this client (" + c.getMessage()
                        + "); check security.protocol and the sasl.* settings in --kafka-config");
            }
            if (c instanceof AuthorizationException) {
                return Optional.of("Kafka denied an operation (" + c.getMessage()
                        + "); grant this principal the ACLs its role needs (deploy/README.md, Security)");
            }
        }
        return Optional.empty();
    }
}
