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

/** What a user sees when an image of their folder is corrupt: one line with its path, no stack trace. */
class CorruptImageCommandTest {

    @TempDir
    Path tmp;

    @Test
    void theTeacherNamesTheCorruptImageInOneLine() throws Exception {
        Path good = tmp.resolve("imgs/train/a/good.png");
        Files.createDirectories(good.getParent());
        ImageIO.write(new BufferedImage(12, 9, BufferedImage.TYPE_BYTE_GRAY), "png", good.toFile());
        Path bad = tmp.resolve("imgs/train/a/bad.jpg");
        Files.write(bad, "not a jpeg at all".getBytes());
        Files.createDirectories(tmp.resolve("imgs/test/a"));
        Files.copy(good, tmp.resolve("imgs/test/a/good.png"));

        Path teacher = Files.write(tmp.resolve("teacher.pt"), new byte[] {1}); // never opened: the data fails first
        StringWriter err = new StringWriter();
        CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        // the dataset is read before Kafka is contacted: no broker needed to get this far
        int exit = cmd.execute("teacher", "--run", "r", "--teacher", teacher.toString(),
                "--dataset", tmp.resolve("imgs").toString(), "--image-size", "8",
                "--bootstrap-servers", "127.0.0.1:9");
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).doesNotContain("\n", "\tat ")
                .startsWith("teacher: cannot read dataset")
                .contains("cannot read image " + bad + ": not a PNG or JPEG file javax.imageio can decode");
    }
}
