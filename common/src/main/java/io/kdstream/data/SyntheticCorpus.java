package io.kdstream.data;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.IntStream;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes an ImageNet-shaped synthetic corpus: JPEGs of mixed sizes around 500×375 (a fifth of
 * them portrait), quality 90 by default, in {@code classes} learnable classes, as an image folder
 * ({@code train/<class>/<key>.jpg}) or as WebDataset-style tar shards ({@code train/shard-NNNNNN.tar}
 * holding {@code <key>.jpg} and {@code <key>.cls}). Made here, from nothing but the seed: each class
 * is a hue, a stripe angle and a stripe frequency, each image adds its own phase, brightness,
 * blobs and noise, so a model must look at the picture to tell the classes apart, and JPEG files
 * come out at roughly ImageNet's bytes per image (about 90 KB).
 */
public final class SyntheticCorpus {
    /** Default JPEG quality, as the and docs' corpus. */
    public static final int DEFAULT_QUALITY = 90;
    private static final int CHUNK = 64;

    private final int classes;
    private final long seed;
    private final int quality;
    private final int shardSize;

    /**
     * @param classes   number of classes (≥ 2)
     * @param seed      same seed, same files
     * @param quality   JPEG quality 1..100
     * @param shardSize samples per tar shard, or 0 for an image folder
     */
    public SyntheticCorpus(int classes, long seed, int quality, int shardSize) {
        if (classes < 2 || classes > 100_000) {
            throw new IllegalArgumentException("classes must be in [2, 100000], got " + classes);
        }
        if (quality < 1 || quality > 100) {
            throw new IllegalArgumentException("JPEG quality must be in [1, 100], got " + quality);
        }
        if (shardSize < 0) {
            throw new IllegalArgumentException("shard size must be >= 0 (0 = image folder), got " + shardSize);
        }
        this.classes = classes;
        this.seed = seed;
        this.quality = quality;
        this.shardSize = shardSize;
    }

    /** Writes {@code trainImages} images to {@code out/train} and {@code testImages} to {@code out/test}. */
    public void write(Path out, int trainImages, int testImages) throws IOException {
        if (trainImages < 1 || testImages < 0) {
            throw new IllegalArgumentException("need >= 1 train and >= 0 test images, got " + trainImages + " and " + testImages);
        }
        writeSplit(out.resolve("train"), trainImages, 0);
        if (testImages > 0) {
            writeSplit(out.resolve("test"), testImages, 1);
        }
    }

    private void writeSplit(Path dir, int n, int split) throws IOException {
        Files.createDirectories(dir);
        TarArchiveOutputStream tar = null;
        try {
            byte[][] chunk = new byte[0][];
            for (int i = 0; i < n; i++) {
                int label = i % classes; // balanced classes
                String key = String.format(Locale.ROOT, "%08d", i);
                if (i % CHUNK == 0) { // draw and encode a chunk on all cores, write it in order
                    int from = i;
                    chunk = IntStream.range(from, Math.min(n, from + CHUNK)).parallel()
                            .mapToObj(k -> jpeg(image(k % classes, SeedMix.combine(seed, split, k))))
                            .toArray(byte[][]::new);
                }
                byte[] jpeg = chunk[i % CHUNK];
                if (shardSize == 0) {
                    Path file = dir.resolve(className(label)).resolve(key + ".jpg");
                    Files.createDirectories(file.getParent());
                    Files.write(file, jpeg);
                    continue;
                }
                if (i % shardSize == 0) {
                    if (tar != null) {
                        tar.close();
                    }
                    OutputStream os = Files.newOutputStream(
                            dir.resolve(String.format(Locale.ROOT, "shard-%06d.tar", i / shardSize)));
                    tar = new TarArchiveOutputStream(os);
                    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                }
                entry(tar, key + ".jpg", jpeg);
                entry(tar, key + ".cls", (label + "\n").getBytes(StandardCharsets.US_ASCII));
            }
        } finally {
            if (tar != null) {
                tar.close();
            }
        }
    }

    /** Folder name of a class: zero-padded so that sorted order is numeric order. */
    public String className(int label) {
        return String.format(Locale.ROOT, "c%0" + Integer.toString(classes - 1).length() + "d", label);
    }

    private static void entry(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(data.length);
        e.setModTime(0); // same seed, same bytes
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    /** One image of class {@code label}: stripes of the class's hue, angle and frequency, plus per-image variation. */
    BufferedImage image(int label, long imageSeed) {
        SeedMix rng = new SeedMix(imageSeed);
        int w = 400 + rng.nextInt(201);          // 400..600
        int h = (w * 3 + rng.nextInt(w / 2 + 1) - w / 4) / 4; // about 3:4 of the width
        if (rng.nextInt(5) == 0) {               // a fifth portrait
            int t = w;
            w = h;
            h = t;
        }
        double hue = (double) label / classes;
        double angle = Math.PI * ((label * 0.618034) % 1.0);
        double freq = 2 * Math.PI * (3 + (label * 7) % 11) / Math.max(w, h);
        double phase = 2 * Math.PI * rng.nextDouble();
        double bright = 0.75 + 0.25 * rng.nextDouble();
        int[] base = rgb(hue, 0.8, bright);
        int[] other = rgb((hue + 0.5) % 1.0, 0.5, bright * 0.6);
        double ca = Math.cos(angle);
        double sa = Math.sin(angle);
        // a few soft blobs, as objects on a background
        int blobs = 1 + rng.nextInt(3);
        double[][] blob = new double[blobs][];
        for (int b = 0; b < blobs; b++) {
            blob[b] = new double[] {rng.nextDouble() * w, rng.nextDouble() * h, (0.1 + 0.2 * rng.nextDouble()) * Math.min(w, h)};
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        byte[] px = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        long noise = rng.nextLong();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double t = 0.5 + 0.5 * Math.sin(freq * (x * ca + y * sa) + phase);
                double shade = 1;
                for (double[] b : blob) {
                    double dx = x - b[0];
                    double dy = y - b[1];
                    if (dx * dx + dy * dy < b[2] * b[2]) {
                        shade = 0.55;
                    }
                }
                noise = noise * 6364136223846793005L + 1442695040888963407L; // LCG: cheap per-pixel noise
                int n = (int) (noise >>> 59) - 16;
                int o = 3 * (y * w + x);
                for (int c = 0; c < 3; c++) {
                    double v = (t * base[c] + (1 - t) * other[c]) * shade + n;
                    px[o + 2 - c] = (byte) Math.max(0, Math.min(255, (int) v)); // BGR
                }
            }
        }
        return img;
    }

    private static int[] rgb(double hue, double sat, double val) {
        int rgb = java.awt.Color.HSBtoRGB((float) hue, (float) sat, (float) val);
        return new int[] {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
    }

    private byte[] jpeg(BufferedImage img) {
        try {
            return encode(img);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode a JPEG in memory", e);
        }
    }

    private byte[] encode(BufferedImage img) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128 * 1024);
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality / 100f);
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
