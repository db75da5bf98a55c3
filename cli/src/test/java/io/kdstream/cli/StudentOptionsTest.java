package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kdstream student} with a TorchScript student: a wrong file or both --arch and --student
 * are refused with one line and exit 1 before the student contacts Kafka (the bootstrap address
 * here accepts no connection; the manifest timeout keeps a regression from hanging).
 */
class StudentOptionsTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    @Test
    void aFileThatIsNotTorchScriptIsRefusedWithOneLine() throws IOException {
        Path notes = Files.writeString(dir.resolve("notes.pt"), "not a module");
        Run r = student("--student", notes.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n")
                .startsWith("student: --student " + notes + " is not a TorchScript module");
    }

    @Test
    void archAndStudentAreExclusive() throws IOException {
        Path notes = Files.writeString(dir.resolve("notes.pt"), "not a module");
        Run r = student("--arch", "mlp", "--student", notes.toString());
        assertThat(r.exit()).as("a usage error").isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("kdstream student: give either --arch or --student, not both\n"
                + "Try 'kdstream student --help'");
    }

    private Run student(String... extra) {
        String[] base = {"student", "--run", "r", "--group", "g", "--checkpoint-dir", dir.resolve("ckpt").toString(),
            "--bootstrap-servers", "127.0.0.1:9", "--manifest-timeout", "PT2S"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }
}
