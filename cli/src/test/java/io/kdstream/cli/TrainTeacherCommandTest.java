package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import io.kdstream.data.RequiresDataset;
import io.kdstream.model.ModelCard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TrainTeacherCommandTest {
    @TempDir
    Path tmp;

    @Test
    @RequiresDataset
    void trainsWritesACardAndReusesAFinishedModel() throws Exception {
        Path out = tmp.resolve("teacher");
        String[] args = {"train-teacher", "--arch", "mlp", "--epochs", "1", "--train-limit", "512",
                "--test-limit", "200", "--augment", "none", "--threads", "1", "--out", out.toString()};
        String first = run(args);
        assertThat(first).contains("epoch 1/1:").contains("test acc");
        ModelCard card = ModelCard.read(out);
        assertThat(card.arch()).isEqualTo("mlp");
        assertThat(card.parametersSha256()).hasSize(64);
        assertThat(first).contains(card.parametersSha256());

        String second = run(args);
        assertThat(second).contains("already trained").contains(card.parametersSha256());
        assertThat(ModelCard.read(out)).isEqualTo(card);
    }

    @Test
    void trainsOnAnImageFolderOfMixedSizesBroughtToOneSize() throws Exception {
        Path data = tmp.resolve("imgs");
        int k = 0;
        for (String split : new String[] {"train", "test"}) {
            for (String cls : new String[] {"dark", "light"}) {
                for (int i = 0; i < 4; i++, k++) {
                    int h = 6 + i * 3;
                    int w = 20 - i * 2;
                    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(w, h,
                            java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            img.getRaster().setSample(x, y, 0, cls.equals("dark") ? 20 + k : 220 - k);
                        }
                    }
                    Path f = data.resolve(split + "/" + cls + "/" + i + ".png");
                    java.nio.file.Files.createDirectories(f.getParent());
                    javax.imageio.ImageIO.write(img, "png", f.toFile());
                }
            }
        }
        Path out = tmp.resolve("folder-teacher");
        String[] args = {"train-teacher", "--arch", "mlp", "--epochs", "1", "--dataset", data.toString(),
                "--image-size", "8,6", "--augment", "none", "--threads", "1", "--out", out.toString()};
        run(args);
        ModelCard card = ModelCard.read(out);
        assertThat(card.inputShape()).containsExactly(1, 8, 6);
        assertThat(card.training()).containsEntry("imageSize", "8x6");
        assertThat(run(args)).contains("already trained");
        // another size is another model
        String[] other = args.clone();
        other[8] = "10";
        assertThat(run(other)).doesNotContain("already trained");
        assertThat(ModelCard.read(out).inputShape()).containsExactly(1, 10, 10);
    }

    @Test
    void badArgumentsFailWithOneReadableLine() {
        CommandLine cmd = KdstreamCommand.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute("train-teacher", "--arch", "alexnet", "--out", tmp.resolve("x").toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).startsWith("kdstream train-teacher: Invalid value for option '--arch': 'alexnet' is not one of ")
                .endsWith("Try 'kdstream train-teacher --help'\n");
    }

    private static String run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertThat(KdstreamCommand.commandLine().execute(args)).isZero();
        } finally {
            System.setOut(saved);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
