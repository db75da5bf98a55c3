package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.InputMode;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageSize;
import io.kdstream.data.JpegDecoder;

/** A student never decodes a reference-mode run's JPEGs otherwise than its teacher, and says why in one line. */
class StudentJpegDecoderTest {

    @TempDir
    Path tmp;

    private DatasetRef folder(JpegDecoder teacher) throws IOException {
        Files.createDirectories(tmp.resolve("images/train/a"));
        return new DatasetRef(tmp.resolve("images").toString(), 1.0, 0, 1, new ImageSize(32, 32), teacher);
    }

    @Test
    void aReferenceModeStudentDecodesAsTheTeacherDidOrRefuses() throws IOException {
        DatasetRef byJava = folder(JpegDecoder.JAVA);
        assertThat(StudentJpegDecoder.choose("r", byJava, InputMode.REFERENCE, JpegDecoder.AUTO)).isEqualTo(JpegDecoder.JAVA);
        assertThatThrownBy(() -> StudentJpegDecoder.choose("r", byJava, InputMode.REFERENCE, JpegDecoder.TURBO))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("run r decoded its JPEGs with --jpeg-decoder java (dataset id ")
                .hasMessageEndingWith("must decode as the teacher did; drop --jpeg-decoder turbo");

        DatasetRef byTurbo = folder(JpegDecoder.TURBO);
        assertThat(byTurbo.id()).endsWith("&size=32x32&jpeg=turbo");
        assertThat(DatasetRef.parse(byTurbo.id())).isEqualTo(byTurbo);
        assertThatThrownBy(() -> StudentJpegDecoder.choose("r", byTurbo, InputMode.REFERENCE, JpegDecoder.JAVA))
                .hasMessageEndingWith("drop --jpeg-decoder java");
        if (JpegDecoder.turboAvailable()) {
            assertThat(StudentJpegDecoder.choose("r", byTurbo, InputMode.REFERENCE, JpegDecoder.AUTO))
                    .isEqualTo(JpegDecoder.TURBO);
        } else {
            assertThatThrownBy(() -> StudentJpegDecoder.choose("r", byTurbo, InputMode.REFERENCE, JpegDecoder.AUTO))
                    .hasMessageStartingWith("run r decoded its JPEGs with libjpeg-turbo, which does not load here: ")
                    .hasMessageContaining("apt-get install libturbojpeg0");
        }
    }

    @Test
    void anInlineFedStudentDecodesItsEvaluationSplitAsAskedAndIdxRunsTakeNoDecoder() throws IOException {
        assertThat(StudentJpegDecoder.choose("r", folder(JpegDecoder.TURBO), InputMode.INLINE, JpegDecoder.JAVA))
                .isEqualTo(JpegDecoder.JAVA);
        assertThat(StudentJpegDecoder.choose("r", folder(JpegDecoder.JAVA), InputMode.INLINE, JpegDecoder.AUTO))
                .isEqualTo(JpegDecoder.JAVA);

        Path idx = tmp.resolve("idx");
        Files.createDirectories(idx);
        Files.write(idx.resolve("train-images-idx3-ubyte"), new byte[0]);
        DatasetRef mnistLike = new DatasetRef(idx.toString(), 1.0, 0, 1);
        assertThat(mnistLike.id()).doesNotContain("jpeg");
        assertThat(StudentJpegDecoder.choose("r", mnistLike, InputMode.REFERENCE, JpegDecoder.AUTO)).isEqualTo(JpegDecoder.JAVA);
        assertThatThrownBy(() -> StudentJpegDecoder.choose("r", mnistLike, InputMode.INLINE, JpegDecoder.TURBO))
                .hasMessage("--jpeg-decoder picks what decodes an image folder's JPEGs, and run r reads " + idx
                        + ", IDX files: drop it");
    }
}
