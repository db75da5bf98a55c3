package io.kdstream.config;

import java.io.PrintWriter;
import java.util.ArrayList;
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
        if (ex instanceof CommandLine.UnmatchedArgumentException u) {
            message += suggestion(cmd, u);
        }
        err.println(name + ": " + message);
        err.println("Try '" + name + " --help'");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * picocli's nearest options; failing those, this command's options that contain the typed
     * word or are a few edits from it ({@code student --epoch}: --replay-epochs), and a sibling
     * command's option of that name ({@code --epochs} is the teacher's).
     */
    private static String suggestion(CommandLine cmd, CommandLine.UnmatchedArgumentException u) {
        List<String> unmatched = u.getUnmatched();
        String typed = unmatched.isEmpty() ? "" : unmatched.get(0).replaceFirst("=.*", "");
        if (!typed.startsWith("--")) {
            return u.getSuggestions().isEmpty() ? ""
                    : " (did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).toList()) + "?)";
        }
        List<String> own = new ArrayList<>(u.getSuggestions().stream().filter(o -> o.startsWith("-")).toList());
        if (own.isEmpty()) {
            own.addAll(near(typed, cmd.getCommandSpec()));
        }
        List<String> hints = new ArrayList<>();
        if (!own.isEmpty()) {
            hints.add("did you mean " + String.join(" or ", own.stream().limit(3).toList()) + "?");
        }
        CommandLine parent = cmd.getParent();
        boolean spellingFix = own.stream().anyMatch(o -> ConfigFiles.levenshtein(o, typed) <= 1);
        if (parent != null && !spellingFix) {
            List<String> elsewhere = new ArrayList<>();
            for (CommandLine sibling : parent.getSubcommands().values()) {
                if (sibling != cmd && !sibling.getCommandName().equals("help")) {
                    for (String name : List.of(typed, typed + "s")) {
                        if (sibling.getCommandSpec().findOption(name) != null) {
                            elsewhere.add("'" + sibling.getCommandSpec().qualifiedName() + " " + name + "'");
                            break;
                        }
                    }
                }
            }
            if (!elsewhere.isEmpty()) {
                hints.add("other commands take " + String.join(", ", elsewhere.stream().limit(3).toList()));
            }
        }
        return hints.isEmpty() ? "" : " (" + String.join(" ", hints) + ")";
    }

    private static List<String> near(String typed, CommandLine.Model.CommandSpec spec) {
        String word = typed.replaceFirst("^-+", "");
        List<String> out = new ArrayList<>();
        for (CommandLine.Model.OptionSpec o : spec.options()) {
            String name = o.longestName();
            String bare = name.replaceFirst("^-+", "");
            boolean contains = word.length() >= 3 && bare.contains(word);
            if (contains || ConfigFiles.levenshtein(word, bare) <= Math.max(2, word.length() / 3)) {
                out.add(name);
            }
        }
        return out;
    }
}
