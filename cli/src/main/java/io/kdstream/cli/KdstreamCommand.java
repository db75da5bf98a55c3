package io.kdstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kdstream}: the single entry point that {@code bin/kdstream} runs. */
@Command(name = "kdstream",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Streaming feature distillation (VkD) over Kafka.",
        subcommands = {
                BrokerCommand.class,
                VkdEvalCommand.class,
                TrainTeacherCommand.class,
                CommandLine.HelpCommand.class
        })
public final class KdstreamCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new KdstreamCommand())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(new UserErrorHandler());
    }
}
