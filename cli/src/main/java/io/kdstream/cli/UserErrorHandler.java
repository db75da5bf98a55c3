package io.kdstream.cli;

import io.kdstream.kafka.KafkaAccessErrors;
import picocli.CommandLine;

/**
 * Turns an exception escaping a command into one readable line on stderr and exit code 1;
 * the stack trace is printed only with {@code -Dkdstream.debug=true}. Refused Kafka credentials
 * or missing ACLs exit with {@link KafkaAccessErrors#EXIT_CODE}.
 */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (Boolean.getBoolean("kdstream.debug")) {
            e.printStackTrace(cmd.getErr());
        }
        // "runs list", not "list": the subcommand's path below the launcher
        String name = cmd.getCommandSpec().qualifiedName().replaceFirst("^kdstream ", "");
        var access = KafkaAccessErrors.describe(e);
        if (access.isPresent()) { // wrong credentials or ACLs: a distinct exit code, nothing to retry
            cmd.getErr().println(name + ": " + access.get());
            return KafkaAccessErrors.EXIT_CODE;
        }
        StringBuilder msg = new StringBuilder(name).append(": ").append(e.getMessage());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !msg.toString().contains(c.getMessage())) {
                msg.append(": ").append(c.getMessage());
            }
        }
        cmd.getErr().println(msg);
        return 1;
    }
}
