package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The corpus that the image benchmarks and tests measure on. */
class SyntheticCorpusTest {

    @TempDir
    Path tmp;

    private static List<Path> jpegs(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        }
    }

    @Test
    void folderHoldsImageNetShapedJpegsOfBalancedClassesAndIsReproducible() throws IOException {
        new SyntheticCorpus(3, 7, 90, 0).write(tmp.resolve("a"), 12, 3);
        new SyntheticCorpus(3, 7, 90, 0).write(tmp.resolve("b"), 12, 3);
        List<Path> train = jpegs(tmp.resolve("a/train"));
        assertThat(train).hasSize(12);
        assertThat(jpegs(tmp.resolve("a/test"))).hasSize(3);
        try (Stream<Path> s = Files.list(tmp.resolve("a/train"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted()).containsExactly("c0", "c1", "c2");
        }
        for (Path p : train) {
            BufferedImage img = ImageIO.read(p.toFile());
            int longer = Math.max(img.getWidth(), img.getHeight());
            int shorter = Math.min(img.getWidth(), img.getHeight());
            assertThat(longer).as("%s", p).isBetween(400, 600);
            assertThat((double) shorter / longer).as("%s", p).isBetween(0.6, 0.9);
            assertThat(Files.size(p)).as("%s", p).isGreaterThan(20_000);
            Path twin = tmp.resolve("b").resolve(tmp.resolve("a").relativize(p));
            assertThat(Files.readAllBytes(twin)).isEqualTo(Files.readAllBytes(p));
        }
    }

    /** Nearest class-mean colour on held-out images: the classes are told apart by what the pictures show. */
    @Test
    void classesAreLearnableFromThePixels() throws IOException {
        SyntheticCorpus corpus = new SyntheticCorpus(4, 3, 90, 0);
        double[][] centroid = new double[4][];
        for (int c = 0; c < 4; c++) {
            centroid[c] = meanRgb(corpus.image(c, 1000 + c));
        }
        int right = 0;
        for (int i = 0; i < 40; i++) {
            double[] m = meanRgb(corpus.image(i % 4, i));
            int best = 0;
            for (int c = 1; c < 4; c++) {
                if (dist(m, centroid[c]) < dist(m, centroid[best])) {
                    best = c;
                }
            }
            right += best == i % 4 ? 1 : 0;
        }
        assertThat(right).isGreaterThanOrEqualTo(36);
    }

    private static double[] meanRgb(BufferedImage img) {
        double[] m = new double[3];
        for (int y = 0; y < img.getHeight(); y += 4) {
            for (int x = 0; x < img.getWidth(); x += 4) {
                int rgb = img.getRGB(x, y);
                m[0] += (rgb >> 16) & 0xff;
                m[1] += (rgb >> 8) & 0xff;
                m[2] += rgb & 0xff;
            }
        }
        return m;
    }

    private static double dist(double[] a, double[] b) {
        double s = 0;
        double na = a[0] + a[1] + a[2];
        double nb = b[0] + b[1] + b[2];
        for (int k = 0; k < 3; k++) { // chromaticity: brightness varies per image
            s += Math.pow(a[k] / na - b[k] / nb, 2);
        }
        return s;
    }

    @Test
    void shardsHoldJpegAndClsPerKeyInWebDatasetLayout() throws IOException {
        new SyntheticCorpus(3, 7, 90, 4).write(tmp, 10, 0);
        try (Stream<Path> s = Files.list(tmp.resolve("train"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("shard-000000.tar", "shard-000001.tar", "shard-000002.tar");
        }
        List<String> names = new ArrayList<>();
        try (TarFile tar = new TarFile(tmp.resolve("train/shard-000001.tar"))) {
            for (TarArchiveEntry e : tar.getEntries()) {
                names.add(e.getName());
                if (e.getName().endsWith(".cls")) {
                    String label = new String(tar.getInputStream(e).readAllBytes()).trim();
                    assertThat(Integer.parseInt(label)).isEqualTo(Integer.parseInt(e.getName().substring(0, 8)) % 3);
                }
            }
        }
        assertThat(names).containsExactly("00000004.jpg", "00000004.cls", "00000005.jpg", "00000005.cls",
                "00000006.jpg", "00000006.cls", "00000007.jpg", "00000007.cls");
        assertThat(Files.exists(tmp.resolve("test"))).isFalse();
    }
}
