package io.kdstream.config;

import java.io.PrintWriter;
import java.util.List;

import picocli.CommandLine;

/**
 * A usage error as one line naming the option (and, for an unknown option, the nearest known
 * ones), then where to read more: never the whole usage, never an exception's class name.
 * Exit code 2. The stack trace only with {@code -Dkdstream.debug=true}.
 */
public final class UsageErrors implements CommandLine.IParameterExceptionHandler {

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        List<String> unmatched = cmd.getUnmatchedArguments();
        List<String> options = unmatched.stream().filter(a -> a.startsWith("-")).toList();
        if (!options.isEmpty()) {
            // name the misspelt option, not the value after it, nor the required option it left missing
            ex = new CommandLine.UnmatchedArgumentException(cmd, options);
        } else if (!(ex instanceof CommandLine.UnmatchedArgumentException) && !unmatched.isEmpty()) {
            ex = new CommandLine.UnmatchedArgumentException(cmd, unmatched);
        }
        PrintWriter err = cmd.getErr();
        if (Boolean.getBoolean("kdstream.debug")) {
            ex.printStackTrace(err);
        }
        String name = cmd.getCommandSpec().qualifiedName();
        String message = String.valueOf(ex.getMessage()).strip().lines().findFirst().orElse("invalid usage");
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            message += " (did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).toList()) + "?)";
        }
        err.println(name + ": " + message);
        err.println("Try '" + name + " --help'");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }
}
