package io.kdstream.cli;

import picocli.CommandLine;

/**
 * Turns an exception escaping a command into one readable line on stderr and exit code 1;
 * the stack trace is printed only with {@code -Dkdstream.debug=true}.
 */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (Boolean.getBoolean("kdstream.debug")) {
            e.printStackTrace(cmd.getErr());
        }
        StringBuilder msg = new StringBuilder(cmd.getCommandName()).append(": ").append(e.getMessage());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !msg.toString().contains(c.getMessage())) {
                msg.append(": ").append(c.getMessage());
            }
        }
        cmd.getErr().println(msg);
        return 1;
    }
}
