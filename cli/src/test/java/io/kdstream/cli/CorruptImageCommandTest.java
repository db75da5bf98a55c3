package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** A corrupt image in a user's folder does not stop the teacher: it is left out of its batch (UnreadableSamplesTest). */
class CorruptImageCommandTest {

    @TempDir
    Path tmp;

    @Test
    void aCorruptImageDoesNotStopTheTeacher() throws Exception {
        Path good = tmp.resolve("imgs/train/a/good.png");
        Files.createDirectories(good.getParent());
        ImageIO.write(new BufferedImage(12, 9, BufferedImage.TYPE_BYTE_GRAY), "png", good.toFile());
        Path bad = tmp.resolve("imgs/train/a/bad.jpg");
        Files.write(bad, "not a jpeg at all".getBytes());
        Files.createDirectories(tmp.resolve("imgs/test/a"));
        Files.copy(good, tmp.resolve("imgs/test/a/good.png"));

        Path teacher = Files.write(tmp.resolve("teacher.pt"), new byte[] {1}); // not a model: the next thing to fail
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        // the dataset is read before Kafka is contacted: no broker needed to get this far
        int exit = cmd.execute("teacher", "--run", "r", "--teacher", teacher.toString(),
                "--dataset", tmp.resolve("imgs").toString(), "--image-size", "8",
                "--bootstrap-servers", "127.0.0.1:9");
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).doesNotContain("\n", "\tat ", "cannot read dataset", bad.toString())
                .contains("zip archive"); // it got as far as loading the (bogus) TorchScript teacher
    }
}
