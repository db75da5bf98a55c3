package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real image folders: JPEG and PNG of mixed sizes with --image-size, grey or RGB, corrupt files. */
class ImageFolderReaderTest {

    @TempDir
    Path tmp;

    /** Grey h×w: white, but black on the outer eighth at both ends of the longer side. */
    private static BufferedImage greyCentre(int h, int w) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        boolean wide = w >= h;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int along = wide ? x : y;
                int side = wide ? w : h;
                img.getRaster().setSample(x, y, 0, along >= side / 8 && along < side * 7 / 8 ? 255 : 0);
            }
        }
        return img;
    }

    private static BufferedImage solid(int h, int w, Color c) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        return img;
    }

    private static void write(BufferedImage img, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        String fmt = file.toString().endsWith(".png") ? "png" : "jpg";
        assertThat(ImageIO.write(img, fmt, file.toFile())).as("writer for %s", fmt).isTrue();
    }

    @Test
    void greyImagesOfAnySizeAreScaledToCoverTheSizeAndCenterCropped() throws IOException {
        Path train = tmp.resolve("grey/train");
        write(greyCentre(16, 32), train.resolve("a/wide.png"));   // 2:1 landscape
        write(greyCentre(32, 16), train.resolve("a/tall.png"));   // 1:2 portrait
        write(greyCentre(40, 80), train.resolve("b/big.jpg"));    // JPEG, 5x the size
        write(new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY), train.resolve("b/exact.png"));

        assertThatThrownBy(() -> ImageFolderReader.read(train, "grey", Split.TRAIN))
                .hasMessageContaining("--image-size");

        ImageDataset ds = ImageFolderReader.read(train, "grey", Split.TRAIN, ImageSize.parse("8"));
        assertThat(new int[] {ds.channels(), ds.height(), ds.width()}).containsExactly(1, 8, 8);
        // sorted: a/tall, a/wide, b/big, b/exact. The crop keeps the middle half of the longer side: no black.
        for (int i = 0; i < 2; i++) {
            assertThat(unsigned(ds.pixels(i))).as("sample %d", i).containsOnly(255);
        }
        assertThat(Arrays.stream(unsigned(ds.pixels(2))).average().orElseThrow()).as("JPEG").isCloseTo(255, within(8.0));
        assertThat(unsigned(ds.pixels(3))).containsOnly(0); // already 8x8: untouched
    }

    @Test
    void aNonSquareSizeAndMixedGreyAndColourGiveThreeChannelsWithGreyReplicated() throws IOException {
        Path train = tmp.resolve("mixed/train");
        write(solid(30, 20, Color.RED), train.resolve("red/0.jpg"));
        write(solid(5, 9, new Color(10, 200, 30)), train.resolve("red/1.png"));
        BufferedImage grey = new BufferedImage(7, 7, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 7; x++) {
                grey.getRaster().setSample(x, y, 0, 77);
            }
        }
        write(grey, train.resolve("zgrey/0.png"));

        ImageDataset ds = ImageFolderReader.read(train, "mixed", Split.TRAIN, ImageSize.parse("6,4"));
        assertThat(new int[] {ds.channels(), ds.height(), ds.width()}).containsExactly(3, 6, 4);
        int plane = 24;
        int[] jpeg = unsigned(ds.pixels(0));
        assertThat(mean(jpeg, 0, plane)).isCloseTo(255, within(12.0));
        assertThat(mean(jpeg, plane, plane)).isCloseTo(0, within(12.0));
        assertThat(mean(jpeg, 2 * plane, plane)).isCloseTo(0, within(12.0));
        int[] png = unsigned(ds.pixels(1));
        assertThat(new int[] {png[0], png[plane], png[2 * plane]}).containsExactly(10, 200, 30);
        assertThat(unsigned(ds.pixels(2))).containsOnly(77); // grey value in all three channels, no gamma shift
    }

    @Test
    void aCorruptOrUnreadableImageIsReportedInOneLineWithItsPath() throws IOException {
        Path root = tmp.resolve("broken");
        write(solid(4, 4, Color.BLUE), root.resolve("train/a/good.png"));
        Path garbage = root.resolve("train/a/garbage.jpg");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        // listed (its id stays taken), unreadable when read: batches leave it out (UnreadableSamplesTest)
        ImageDataset listed = ImageFolderReader.read(root.resolve("train"), "broken", Split.TRAIN, ImageSize.parse("4"));
        assertThat(listed.size()).isEqualTo(2);
        assertThatThrownBy(() -> listed.pixels(0)).isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot read image " + garbage + ": not a PNG or JPEG file javax.imageio can decode");

        Files.delete(garbage);
        Path truncated = root.resolve("train/b/cut.png");
        write(greyCentre(64, 64), truncated);
        byte[] whole = Files.readAllBytes(truncated);
        Files.write(truncated, Arrays.copyOf(whole, whole.length / 2));
        // its header is whole, so the index takes it; reading its pixels fails
        ImageDataset ds = Datasets.load(root.toString(), Split.TRAIN, ImageSize.parse("4"));
        assertThat(ds.pixels(0)).hasSize(3 * 16);
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> ds.pixels(1));
        assertThat(t).isInstanceOf(UncheckedIOException.class);
        assertThat(t.getMessage()).contains("cannot read image " + truncated + ": ").doesNotContain("\n");
    }

    @Test
    void shrinkingAveragesInsteadOfAliasing() {
        byte[] checker = new byte[16 * 16];
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                checker[y * 16 + x] = (byte) ((x + y) % 2 == 0 ? 255 : 0);
            }
        }
        int[] out = unsigned(ImageFolderReader.resizeAndCrop(checker, 1, 16, 16, new ImageSize(4, 4)));
        assertThat(Arrays.stream(out).min().orElseThrow()).isGreaterThanOrEqualTo(112);
        assertThat(Arrays.stream(out).max().orElseThrow()).isLessThanOrEqualTo(143);
    }

    @Test
    void imageSizesParseAndTravelInTheDatasetIdOnlyWhenGiven() {
        assertThat(ImageSize.parse("32")).isEqualTo(new ImageSize(32, 32));
        assertThat(ImageSize.parse("24,32")).isEqualTo(new ImageSize(24, 32));
        assertThat(ImageSize.parse("24x32")).isEqualTo(new ImageSize(24, 32));
        assertThatThrownBy(() -> ImageSize.parse("big")).hasMessage("image size must be H or H,W in pixels, got 'big'");
        assertThatThrownBy(() -> ImageSize.parse("0")).hasMessageContaining("1..4096");

        DatasetRef plain = new DatasetRef("/data/x", 1.0, 100, 7);
        assertThat(plain.id()).isEqualTo("/data/x?fraction=1.0&limit=100&seed=7");
        DatasetRef sized = new DatasetRef("/data/x", 1.0, 100, 7, new ImageSize(24, 32));
        assertThat(sized.id()).isEqualTo("/data/x?fraction=1.0&limit=100&seed=7&size=24x32");
        assertThat(DatasetRef.parse(sized.id())).isEqualTo(sized);
        assertThat(DatasetRef.parse(plain.id())).isEqualTo(plain);
    }

    private static int[] unsigned(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return out;
    }

    private static double mean(int[] v, int from, int n) {
        return Arrays.stream(v, from, from + n).average().orElseThrow();
    }

    @Test
    void theResizeIsPilsFixedPointBilinearToTheByteOnEveryKindOfBox() {
        // the oracle: PIL's ImagingResample (8 bpc, bilinear) written plainly, a pixel at a time in longs
        java.util.Random r = new java.util.Random(37);
        int h = 375;
        int w = 500;
        byte[] noise = new byte[3 * h * w];
        r.nextBytes(noise);
        byte[] white = new byte[3 * h * w];
        Arrays.fill(white, (byte) 255); // the largest sums: an int overflow would show here
        AugmentPolicy rrc = AugmentPolicy.parse("rrc+flip");
        for (byte[] px : new byte[][] {noise, white}) {
            ImageDecoder.Planes src = new ImageDecoder.Planes(px, 3, h, w);
            java.util.List<AugmentPolicy.View> boxes = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                boxes.add(rrc.cropBox(r.nextLong(), h, w));
            }
            boxes.add(new AugmentPolicy.View(0, 0, h, w, h, w, false));        // shrinking the whole image
            boxes.add(new AugmentPolicy.View(100, 200, 37, 41, h, w, false));  // enlarging a small box
            for (AugmentPolicy.View v : boxes) {
                for (ImageSize size : new ImageSize[] {new ImageSize(224, 224), new ImageSize(160, 224)}) {
                    assertThat(ImageFolderReader.resizeRegion(src, v, size)).as("box %s to %s", v, size)
                            .isEqualTo(plainPilResize(px, h, w, v, size.height(), size.width()));
                }
            }
        }
    }

    /** PIL's {@code precompute_coeffs} + {@code normalize_coeffs_8bpc}: per output, first input and 22-bit taps. */
    private static long[][] pilTaps(int start, int in, int out) {
        double scale = (double) in / out;
        double support = Math.max(1.0, scale);
        long[][] taps = new long[out][];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            int xmin = Math.max(0, (int) (center - support + 0.5));
            int xmax = Math.min(in, (int) (center + support + 0.5));
            double[] k = new double[xmax - xmin];
            double sum = 0;
            for (int x = 0; x < k.length; x++) {
                double t = Math.abs((x + xmin - center + 0.5) / support);
                k[x] = t < 1 ? 1 - t : 0;
                sum += k[x];
            }
            taps[o] = new long[k.length + 1];
            taps[o][0] = start + xmin;
            for (int x = 0; x < k.length; x++) {
                taps[o][x + 1] = (long) (0.5 + k[x] / sum * (1 << 22));
            }
        }
        return taps;
    }

    private static byte[] plainPilResize(byte[] src, int h, int w, AugmentPolicy.View v, int oh, int ow) {
        long[][] tx = pilTaps(v.left(), v.width(), ow);
        long[][] ty = pilTaps(v.top(), v.height(), oh);
        byte[] out = new byte[3 * oh * ow];
        for (int c = 0; c < 3; c++) {
            int[][] rows = new int[h][]; // horizontal pass, each source row the vertical pass reads
            for (int oy = 0; oy < oh; oy++) {
                for (int t = 1; t < ty[oy].length; t++) {
                    int y = (int) ty[oy][0] + t - 1;
                    if (rows[y] == null) {
                        rows[y] = new int[ow];
                        for (int ox = 0; ox < ow; ox++) {
                            long sum = 1L << 21;
                            for (int u = 1; u < tx[ox].length; u++) {
                                sum += (src[c * h * w + y * w + (int) tx[ox][0] + u - 1] & 0xff) * tx[ox][u];
                            }
                            rows[y][ox] = (int) Math.max(0, Math.min(255, sum >> 22));
                        }
                    }
                }
            }
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    long sum = 1L << 21;
                    for (int t = 1; t < ty[oy].length; t++) {
                        sum += rows[(int) ty[oy][0] + t - 1][ox] * ty[oy][t];
                    }
                    out[c * oh * ow + oy * ow + ox] = (byte) Math.max(0, Math.min(255, sum >> 22));
                }
            }
        }
        return out;
    }
}
