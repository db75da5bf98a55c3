package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code --run} names one run or several to join, on the command line or as the config key {@code run}. */
class StudentRunsOptionTest {

    @TempDir
    Path dir;

    private StudentCommand parsed(CommandLine.IDefaultValueProvider config, String... args) {
        StudentCommand c = new StudentCommand();
        CommandLine cl = new CommandLine(c);
        if (config != null) {
            cl.setDefaultValueProvider(config);
        }
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--bootstrap-servers";
        all[args.length + 1] = "127.0.0.1:9";
        cl.parseArgs(all);
        return c;
    }

    @Test
    void repeatedOrCommaSeparatedRunsAreJoinedInTheOrderGiven() {
        StudentCommand c = parsed(null, "--run", "vit", "--run", "cnn,mlp", "--group", "g", "--checkpoint-dir",
                dir.toString());
        assertThat(c.joinedRuns()).containsExactly("vit", "cnn", "mlp");
        assertThat(parsed(null, "--run", "one", "--group", "g", "--checkpoint-dir", dir.toString()).joinedRuns())
                .containsExactly("one");
    }

    @Test
    void theConfigKeyRunNamesSeveralRuns() throws Exception {
        Path props = Files.writeString(dir.resolve("student.properties"), "run=vit,cnn\ngroup=g\n");
        StudentCommand c = parsed(new CommandLine.PropertiesDefaultProvider(props.toFile()), "--checkpoint-dir",
                dir.toString());
        assertThat(c.joinedRuns()).containsExactly("vit", "cnn");
    }

    @Test
    void aRunNamedTwiceIsAUsageError() {
        StudentCommand c = parsed(null, "--run", "a", "--run", "a", "--group", "g", "--checkpoint-dir", dir.toString());
        assertThatThrownBy(c::config).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("Option '--run' names run a twice: give each run once");
    }

    @Test
    void oneTeacherIdForSeveralRunsIsAUsageError() {
        StudentCommand c = parsed(null, "--run", "a,b", "--teacher-id", "abc", "--group", "g", "--checkpoint-dir",
                dir.toString());
        assertThatThrownBy(c::config).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("Option '--teacher-id' names one run's teacher and this student joins 2 runs: drop it");
    }
}
