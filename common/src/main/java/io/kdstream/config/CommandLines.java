package io.kdstream.config;

import picocli.CommandLine;

/**
 * How every kdstream entry point (the {@code kdstream} launcher and the services' own mains) sets up
 * picocli: usage errors as one line with exit code 2, the {@code --config} file's keys checked,
 * options that would do nothing refused, enum values case-insensitive.
 */
public final class CommandLines {

    private CommandLines() {
    }

    /** {@code cmd} with kdstream's parsing conventions; returns it. */
    public static CommandLine configure(CommandLine cmd) {
        return cmd.setCaseInsensitiveEnumValuesAllowed(true)
                .setParameterExceptionHandler(new UsageErrors())
                .setExecutionStrategy(checking(new CommandLine.RunLast()));
    }

    /**
     * An execution strategy that refuses the {@code --config} file's unknown keys and options that
     * would do nothing ({@link OptionRules}), then runs {@code next}.
     */
    public static CommandLine.IExecutionStrategy checking(CommandLine.IExecutionStrategy next) {
        return ConfigFiles.checkingKeys(OptionRules.checking(next));
    }

    /** Installs the {@code --config} file named in {@code args}, then parses and runs. */
    public static int execute(CommandLine cmd, String... args) {
        ConfigFiles.install(cmd, args);
        return cmd.execute(args);
    }
}
