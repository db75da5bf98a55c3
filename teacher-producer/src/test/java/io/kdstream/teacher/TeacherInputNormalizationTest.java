package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.Split;
import io.kdstream.model.FeatureModel;

/**
 * A .pt teacher gets the input normalization the user gives (it used to get Fashion-MNIST's
 * silently), and the dataset's known statistics without options. The fixture is common's traced
 * 1×28×28 teacher (common/src/test/python/make_torchscript_fixture.py).
 */
class TeacherInputNormalizationTest {

    @TempDir
    Path tmp;

    private static ImageDataset dataset(String name, int channels) {
        int n = 4;
        int size = channels * 28 * 28;
        byte[] px = new byte[n * size];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 37);
        }
        return new ImageDataset(new ImageDataset.Layout(name, Split.TRAIN, channels, 28, 28, Collections.nCopies(10, "c")), px,
                new int[] {0, 1, 2, 3}, new long[] {0, 1, 2, 3});
    }

    private TeacherCommand parse(String... options) throws IOException {
        Path pt = tmp.resolve("teacher.pt");
        try (InputStream in = getClass().getResourceAsStream("/model/tiny_features_logits.pt")) {
            assertThat(in).as("common's test fixture on the classpath").isNotNull();
            Files.copy(in, pt, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        TeacherCommand cmd = new TeacherCommand();
        List<String> args = new java.util.ArrayList<>(List.of("--run", "r", "--teacher", pt.toString(),
                "--bootstrap-servers", "127.0.0.1:9"));
        args.addAll(List.of(options));
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        return cmd;
    }

    @Test
    void aTorchScriptTeacherGetsTheGivenNormalization() throws IOException {
        TeacherCommand cmd = parse("--input-mean", "0.5", "--input-std", "0.25");
        ImageDataset train = dataset("fashion-mnist", 1);
        try (FeatureModel teacher = cmd.openTeacher(train, cmd.givenInputNormalization(train), null)) {
            assertThat(teacher.card().normMean()).containsExactly(0.5f);
            assertThat(teacher.card().normStd()).containsExactly(0.25f);
        }
    }

    @Test
    void withoutOptionsItGetsTheDatasetsKnownStatisticsElseMeasuredOnes() throws IOException {
        TeacherCommand cmd = parse();
        ImageDataset fashion = dataset("fashion-mnist", 1);
        assertThat(cmd.givenInputNormalization(fashion)).isNull();
        try (FeatureModel teacher = cmd.openTeacher(fashion, null, null)) {
            assertThat(teacher.card().normMean()).containsExactly(0.2860f);
            assertThat(teacher.card().normStd()).containsExactly(0.3530f);
        }
        ImageDataset own = dataset("my-images", 1);
        InputNormalization measured = InputNormalization.measure(own);
        try (FeatureModel teacher = cmd.openTeacher(own, null, null)) {
            assertThat(teacher.card().normMean()).containsExactly(measured.mean()[0]);
        }
    }

    @Test
    void halfAnOptionPairOrTheWrongChannelCountIsRefusedInOneLine() throws IOException {
        ImageDataset train = dataset("fashion-mnist", 1);
        assertThatThrownBy(() -> parse("--input-mean", "0.5").givenInputNormalization(train))
                .hasMessage("--input-mean and --input-std go together; got only --input-mean");
        assertThatThrownBy(() -> parse("--input-mean", "0.5,0.5,0.5", "--input-std", "0.2,0.2,0.2")
                .givenInputNormalization(train))
                .hasMessage("input mean and std need one value per image channel (1), got mean [0.5, 0.5, 0.5] "
                        + "and std [0.2, 0.2, 0.2]");
    }
}
