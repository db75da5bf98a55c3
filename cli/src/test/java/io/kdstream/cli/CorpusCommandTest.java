package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** {@code kdstream corpus}: the synthetic ImageNet-shaped corpus as a user writes it. */
class CorpusCommandTest {

    @TempDir
    Path tmp;

    @Test
    void writesShardsAndSaysWhatItWrote() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute("corpus", "--out", tmp.toString(), "--images", "5", "--classes", "2",
                "--shard-size", "2", "--test-images", "1");
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).startsWith("wrote 5 train and 1 test images in 2 classes to " + tmp + " (tar shards of 2)");
        try (Stream<Path> s = Files.list(tmp.resolve("train"))) {
            assertThat(s.count()).isEqualTo(3);
        }
        assertThat(cmd.execute("corpus", "--out", tmp.toString(), "--classes", "1")).isEqualTo(2);
        assertThat(err.toString()).contains("--classes must be 2 or more");
    }
}
