package io.kdstream.config;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A command whose options only take effect together with others (a temperature without logit
 * distillation, a whitening option without {@code --norm whiten}): such an option given where it
 * does nothing is refused as a usage error naming it, before anything is started, never ignored.
 * Checked by {@link #checking} after parsing, so the CLI fuzz test sees the same refusals; a mixin
 * that implements this is checked too, before its command.
 */
public interface OptionRules {

    /** Throws a {@link CommandLine.ParameterException} (via {@link Given#refuse}) for an option that would do nothing. */
    void checkOptionRules(Given given);

    /** An execution strategy that checks the command's rules, then runs {@code next}. */
    static CommandLine.IExecutionStrategy checking(CommandLine.IExecutionStrategy next) {
        return parsed -> {
            CommandLine.ParseResult last = parsed;
            while (last.hasSubcommand()) {
                last = last.subcommand();
            }
            if (!last.isUsageHelpRequested() && !last.isVersionHelpRequested()) {
                Given given = new Given(last);
                for (CommandSpec mixin : last.commandSpec().mixins().values()) {
                    if (mixin.userObject() instanceof OptionRules rules) {
                        rules.checkOptionRules(given);
                    }
                }
                if (last.commandSpec().userObject() instanceof OptionRules rules) {
                    rules.checkOptionRules(given);
                }
            }
            return next.execute(parsed);
        };
    }

    /** Which options the user set, on the command line or in the {@code --config} file. */
    final class Given {
        private final CommandLine.ParseResult parsed;

        Given(CommandLine.ParseResult parsed) {
            this.parsed = parsed;
        }

        /** Whether {@code option} was given (a default does not count). */
        public boolean has(String option) {
            if (parsed.hasMatchedOption(option)) {
                return true;
            }
            CommandSpec spec = parsed.commandSpec();
            OptionSpec o = spec.findOption(option);
            CommandLine.IDefaultValueProvider file = spec.defaultValueProvider();
            try {
                return o != null && file != null && file.defaultValue(o) != null;
            } catch (Exception e) {
                return false; // an unreadable file is refused by ConfigFiles with its own message
            }
        }

        /** Refuses {@code option} when it was given and {@code inEffect} is false. */
        public void refuseUnless(boolean inEffect, String option, String why) {
            if (!inEffect && has(option)) {
                refuse(option, why);
            }
        }

        /** A usage error naming {@code option}. */
        public void refuse(String option, String why) {
            refuse("Option '" + option + "' would do nothing: " + why);
        }

        /** A usage error: options that go together given apart, in one line that names them. */
        public void refuse(String message) {
            throw new CommandLine.ParameterException(parsed.commandSpec().commandLine(), message);
        }
    }
}
