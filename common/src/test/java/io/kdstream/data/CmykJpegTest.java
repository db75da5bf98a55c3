package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CMYK JPEG (print and stock-photo sources; a few in ImageNet) read through the dataset loader,
 * whatever decoder it uses. The fixture, 300 bytes, was made with ImageMagick 6.9:
 * {@code convert -size 8x8 xc:'#e01010' \( -size 8x8 xc:'#1030e0' \) +append -colorspace CMYK
 * -quality 95 ycck-red-blue.jpg} (libjpeg stores it as YCCK: Adobe transform 2). javax.imageio alone
 * reads it as #f14646 / #467af1.
 */
class CmykJpegTest {

    @TempDir
    Path tmp;

    @Test
    void aYcckJpegIsReadInItsOwnColours() throws IOException {
        Path image = tmp.resolve("cmyk/train/print/0.jpg");
        Files.createDirectories(image.getParent());
        try (InputStream in = CmykJpegTest.class.getResourceAsStream("ycck-red-blue.jpg")) {
            Files.copy(in, image);
        }
        ImageDataset ds = Datasets.load(tmp.resolve("cmyk").toString(), Split.TRAIN, ImageSize.parse("8,16"));
        assertThat(new int[] {ds.size(), ds.channels(), ds.height(), ds.width()}).containsExactly(1, 3, 8, 16);
        byte[] px = ds.pixels(0);
        int plane = 8 * 16;
        int centreOfLeft = 4 * 16 + 3;
        int centreOfRight = 4 * 16 + 12;
        assertRgb(px, plane, centreOfLeft, 0xe0, 0x10, 0x10);
        assertRgb(px, plane, centreOfRight, 0x10, 0x30, 0xe0);
    }

    /** Within 12 levels per channel: the CMYK round trip is not exact, a wrong conversion is off by 50+. */
    private static void assertRgb(byte[] px, int plane, int at, int r, int g, int b) {
        int[] got = {px[at] & 0xff, px[plane + at] & 0xff, px[2 * plane + at] & 0xff};
        assertThat(Math.abs(got[0] - r)).as("red of %s", java.util.Arrays.toString(got)).isLessThanOrEqualTo(12);
        assertThat(Math.abs(got[1] - g)).as("green of %s", java.util.Arrays.toString(got)).isLessThanOrEqualTo(12);
        assertThat(Math.abs(got[2] - b)).as("blue of %s", java.util.Arrays.toString(got)).isLessThanOrEqualTo(12);
    }
}
