package io.kdstream.cli;

import io.kdstream.config.CommandLines;
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
                io.kdstream.teacher.TeacherCommand.class,
                io.kdstream.student.StudentCommand.class,
                io.kdstream.demo.DemoCommand.class,
                io.kdstream.study.StudyCommand.class,
                io.kdstream.chaos.ChaosCommand.class,
                io.kdstream.runs.RunsCommand.class,
                ExportCommand.class,
                CorpusCommand.class,
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
        System.exit(CommandLines.execute(commandLine(), args));
    }

    /** The configured command line, shared by {@link #main} and tests. */
    public static CommandLine commandLine() {
        CommandLine cmd = CommandLines.configure(new CommandLine(new KdstreamCommand()))
                .setExecutionExceptionHandler(new UserErrorHandler());
        shareVersion(cmd, new VersionProvider());
        return cmd;
    }

    /** {@code kdstream CMD -V} prints the build's version too, not nothing. */
    private static void shareVersion(CommandLine cmd, CommandLine.IVersionProvider version) {
        cmd.getCommandSpec().versionProvider(version);
        cmd.getSubcommands().values().forEach(sub -> shareVersion(sub, version));
    }
}
