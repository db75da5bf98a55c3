package io.kdstream.cli;

import io.kdstream.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kdstream}: the single entry point that {@code bin/kdstream} runs. */
@Command(name = "kdstream",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Streaming feature distillation (VkD) over Kafka.",
        // in the order a newcomer needs them: see it work, run it on your data, look after runs, go further
        subcommands = {
                io.kdstream.demo.DemoCommand.class,
                io.kdstream.teacher.TeacherCommand.class,
                io.kdstream.student.StudentCommand.class,
                io.kdstream.runs.RunsCommand.class,
                ExportCommand.class,
                TrainTeacherCommand.class,
                CorpusCommand.class,
                BrokerCommand.class,
                io.kdstream.study.StudyCommand.class,
                VkdEvalCommand.class,
                io.kdstream.chaos.ChaosCommand.class,
                CommandLine.HelpCommand.class
        },
        footer = {"",
                "Start with 'kdstream demo --quick' (a 3-minute smoke test), then 'kdstream demo' (the main job).",
                "Read next: README.md (what the demo shows, the services, their options), docs/pytorch.md (your own "
                        + "PyTorch teacher and student), deploy/README.md (a real Kafka cluster, metrics, security).",
                "Each command's options: kdstream COMMAND --help."})
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
