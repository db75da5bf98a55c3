package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * libjpeg-turbo's pixels ({@code --jpeg-decoder turbo}) against Pillow's
 * {@code Image.open(f).convert("RGB")} (Debian's Pillow, built on the same libjpeg-turbo) on the
 * corpus generator's JPEGs and on odd ones Pillow writes ({@code pillow_decode.py}): greyscale,
 * progressive, 4:4:4, 4:2:2, optimized Huffman tables, an odd size, an EXIF orientation (ignored by
 * both). Tolerance: none. And the files it leaves to javax.imageio: CMYK/YCCK, a PNG named .jpg.
 */
class TurboJpegParityTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @TempDir
    Path tmp;

    @BeforeEach
    void needsLibjpegTurbo() {
        assumeLibjpegTurbo();
    }

    /** Skips (fails in strict mode) a test that needs libturbojpeg where it does not load. */
    static void assumeLibjpegTurbo() {
        Prerequisites.assumeNull(Need.NATIVE_LIBRARY, JpegDecoder.turboMissing() == null ? null
                : JpegDecoder.turboMissing() + " (Debian package libturbojpeg0)");
    }

    @Test
    void decodesAsPillowDoesToTheLastLevel() throws Exception {
        Prerequisites.assume(Need.PYTHON, Files.isExecutable(PYTHON), "needs /usr/bin/python3");
        new SyntheticCorpus(3, 17, 90, 0).write(tmp.resolve("corpus"), 6, 0);
        Path cases = tmp.resolve("cases");
        Files.createDirectories(cases);
        List<Path> corpus;
        try (Stream<Path> s = Files.walk(tmp.resolve("corpus/train"))) {
            corpus = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        }
        for (int i = 0; i < corpus.size(); i++) {
            Files.copy(corpus.get(i), cases.resolve("corpus-" + i + ".jpg"));
        }
        Files.copy(corpus.get(0), cases.resolve("source.jpg"));
        Path script = tmp.resolve("pillow_decode.py");
        try (InputStream in = getClass().getResourceAsStream("pillow_decode.py")) {
            Files.copy(in, script);
        }
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PYTHON.toString(), script.toString(),
                cases.toString()).redirectErrorStream(true))) {
            out = p.assertSuccess(Duration.ofSeconds(60)).stdout();
        }
        Prerequisites.assume(Need.PYTHON, !out.startsWith("SKIP"), out.strip());

        List<String> differing = new ArrayList<>();
        List<String> modes = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            String[] f = line.split(" ");
            int width = Integer.parseInt(f[1]);
            int height = Integer.parseInt(f[2]);
            modes.add(f[3]);
            byte[] pillow = Files.readAllBytes(cases.resolve(f[0] + ".rgb"));
            ImageDecoder.Planes ours = TurboJpeg.decode(Files.readAllBytes(cases.resolve(f[0])), f[0]);
            assertThat(ours).as("%s is a kind libjpeg-turbo decodes", f[0]).isNotNull();
            assertThat(new int[] {ours.width(), ours.height()}).as(f[0]).containsExactly(width, height);
            assertThat(ours.channels()).as("%s opens as %s", f[0], f[3]).isEqualTo(f[3].equals("L") ? 1 : 3);
            int plane = width * height;
            int worst = 0;
            for (int i = 0; i < plane; i++) {
                for (int c = 0; c < 3; c++) {
                    int mine = ours.pixels()[(ours.channels() == 1 ? 0 : c) * plane + i] & 0xff;
                    worst = Math.max(worst, Math.abs(mine - (pillow[3 * i + c] & 0xff)));
                }
            }
            if (worst != 0) {
                differing.add(f[0] + " (up to " + worst + " levels)");
            }
        }
        assertThat(modes).as("the cases cover colour and greyscale").contains("RGB", "L").hasSize(corpus.size() + 9);
        assertThat(differing).as("files whose pixels differ from Pillow's").isEmpty();
    }

    @Test
    void leavesCmykAndPngToJavaxImageioAndRefusesACutFile() throws IOException {
        byte[] ycck;
        try (InputStream in = getClass().getResourceAsStream("ycck-red-blue.jpg")) {
            ycck = in.readAllBytes();
        }
        assertThat(TurboJpeg.decode(ycck, "ycck.jpg")).as("YCCK is javax.imageio's").isNull();
        ImageDecoder.Planes viaTurbo = ImageDecoder.decode(ycck, "ycck.jpg", JpegDecoder.TURBO);
        assertThat(viaTurbo.pixels()).isEqualTo(ImageDecoder.decode(ycck, "ycck.jpg", JpegDecoder.JAVA).pixels());

        new SyntheticCorpus(2, 3, 90, 0).write(tmp, 2, 0);
        Path jpeg;
        try (Stream<Path> s = Files.walk(tmp.resolve("train"))) {
            jpeg = s.filter(p -> p.toString().endsWith(".jpg")).findFirst().orElseThrow();
        }
        byte[] whole = Files.readAllBytes(jpeg);
        ImageDecoder.Planes px = ImageDecoder.decode(whole, "whole.jpg", JpegDecoder.TURBO);
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(javax.imageio.ImageIO.read(jpeg.toFile()), "png", png);
        assertThat(TurboJpeg.decode(png.toByteArray(), "png.jpg")).as("a PNG is javax.imageio's").isNull();
        assertThat(ImageDecoder.decode(png.toByteArray(), "png.jpg", JpegDecoder.TURBO).width()).isEqualTo(px.width());

        assertThatThrownBy(() -> ImageDecoder.decode(Arrays.copyOf(whole, whole.length / 2), "cut.jpg", JpegDecoder.TURBO))
                .isInstanceOf(IOException.class).hasMessageStartingWith("cannot read image cut.jpg: truncated: ");
        byte[] corrupt = whole.clone();
        Arrays.fill(corrupt, 200, corrupt.length, (byte) 0x55);
        assertThatThrownBy(() -> ImageDecoder.decode(corrupt, "corrupt.jpg", JpegDecoder.TURBO))
                .isInstanceOf(IOException.class).hasMessageStartingWith("cannot read image corrupt.jpg: ");
        byte[] badScan = whole.clone();
        Arrays.fill(badScan, badScan.length / 3, badScan.length / 3 + 64, (byte) 0xff);
        try {
            ImageDecoder.decode(badScan, "bad-scan.jpg", JpegDecoder.TURBO);
        } catch (IOException e) {
            assertThat(e).hasMessageStartingWith("cannot read image bad-scan.jpg: ");
        }
        // after every kind of failure, this thread's decompressor decodes the next files as if fresh
        // (TurboJPEG 2.1 left a handle that had failed reporting another image's size)
        for (byte[] next : List.of(whole, ycck, whole)) {
            ImageDecoder.Planes again = ImageDecoder.decode(next, "again.jpg", JpegDecoder.TURBO);
            ImageDecoder.Planes fresh = ImageDecoder.decode(next, "fresh.jpg", JpegDecoder.JAVA);
            assertThat(new int[] {again.height(), again.width()}).containsExactly(fresh.height(), fresh.width());
        }
        assertThat(ImageDecoder.decode(whole, "whole.jpg", JpegDecoder.TURBO).pixels()).isEqualTo(px.pixels());
    }
}
