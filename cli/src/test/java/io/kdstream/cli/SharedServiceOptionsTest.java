package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import io.kdstream.config.CommandLines;
import io.kdstream.service.WorkerOptions;

/**
 * The options teacher and student share are declared once ({@link WorkerOptions}) and still read
 * as each service means them: its own help text, the teacher's default dataset, {@code --config}
 * keys; {@code --input-mean} without {@code --input-std} is one usage line before anything starts.
 */
class SharedServiceOptionsTest {

    private static final List<String> SHARED = List.of("--dataset", "--seed", "--input-mean", "--input-std",
            "--data-workers", "--device", "--progress-interval");

    @TempDir
    Path dir;

    @Test
    void eachServiceDescribesTheSharedOptionsInItsOwnWords() {
        CommandLine kdstream = KdstreamCommand.commandLine();
        CommandSpec teacher = kdstream.getSubcommands().get("teacher").getCommandSpec();
        CommandSpec student = kdstream.getSubcommands().get("student").getCommandSpec();
        for (String name : SHARED) {
            OptionSpec t = teacher.findOption(name);
            OptionSpec s = student.findOption(name);
            assertThat(fromWorkerOptions(teacher, name) && fromWorkerOptions(student, name)).as(name).isTrue();
            assertThat(String.join(" ", t.description())).as("teacher " + name).isNotBlank();
            assertThat(String.join(" ", s.description())).as("student " + name).isNotBlank();
        }
        for (String name : List.of("--dataset", "--seed", "--input-mean", "--data-workers")) {
            assertThat(teacher.findOption(name).description()).as(name)
                    .isNotEqualTo(student.findOption(name).description());
        }
        assertThat(String.join(" ", student.findOption("--input-mean").description()))
                .contains("Values that differ from the manifest's are refused.");
    }

    @Test
    void theTeacherReadsFashionMnistByDefaultTheStudentTheManifestsDataset() throws IOException {
        Path model = model();
        assertThat(parsed("teacher", "--run", "r", "--bootstrap-servers", "h:1", "--teacher", model.toString())
                .findOption("--dataset").<String>getValue()).isEqualTo("fashion-mnist");
        assertThat(parsed("student", "--run", "r", "--group", "g", "--bootstrap-servers", "h:1",
                "--checkpoint-dir", dir.resolve("ck").toString()).findOption("--dataset").<String>getValue()).isNull();
        Path config = Files.writeString(dir.resolve("teacher.properties"), "dataset=cifar10\nseed=7\n");
        CommandSpec fromFile = parsed("teacher", "--config", config.toString(), "--run", "r", "--bootstrap-servers",
                "h:1", "--teacher", model.toString());
        assertThat(fromFile.findOption("--dataset").<String>getValue()).isEqualTo("cifar10");
        assertThat(fromFile.findOption("--seed").<Long>getValue()).isEqualTo(7L);
    }

    @Test
    void inputMeanWithoutInputStdIsOneUsageLineBeforeAnythingStarts() throws IOException {
        Path ck = dir.resolve("ck");
        String[][] cases = {
            {"student", "--run", "r", "--group", "g", "--bootstrap-servers", "127.0.0.1:9", "--checkpoint-dir",
                ck.toString(), "--input-mean", "0.5"},
            {"teacher", "--run", "r", "--bootstrap-servers", "127.0.0.1:9", "--teacher", model().toString(),
                "--input-std", "0.25"},
        };
        for (String[] args : cases) {
            CommandLine cmd = KdstreamCommand.commandLine();
            StringWriter err = new StringWriter();
            cmd.setErr(new PrintWriter(err, true));
            cmd.setOut(new PrintWriter(new StringWriter(), true));
            assertThat(CommandLines.execute(cmd, args)).as(err.toString()).isEqualTo(2);
            String other = args[args.length - 2].equals("--input-mean") ? "--input-mean" : "--input-std";
            assertThat(err.toString().lines().toList()).containsExactly("kdstream " + args[0]
                    + ": --input-mean and --input-std go together; got only " + other,
                    "Try 'kdstream " + args[0] + " --help'");
        }
        assertThat(Files.exists(ck)).as("no checkpoint directory made by a refused student").isFalse();
    }

    private static boolean fromWorkerOptions(CommandSpec command, String option) {
        return command.mixins().values().stream()
                .anyMatch(m -> m.userObject() instanceof WorkerOptions && m.findOption(option) != null);
    }

    private Path model() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("model.json"), "{}");
        return model;
    }

    private static CommandSpec parsed(String... args) {
        CommandLine cmd = KdstreamCommand.commandLine();
        CommandLines.execute(cmd.setExecutionStrategy(parsed -> 0), args);
        return cmd.getSubcommands().get(args[0]).getCommandSpec();
    }
}
