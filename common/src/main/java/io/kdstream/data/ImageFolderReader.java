package io.kdstream.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

/**
 * Reads {@code dir/<class>/<image>.png|jpg|jpeg}: class index by sorted folder name, sample id by
 * rank in sorted {@code <class>/<file>} order (stable while the folder does not change).
 *
 * <p>Without an {@link ImageSize} all images must share one size. With one, each image is scaled
 * (bilinear, averaging when shrinking: {@link #resizeAndCrop}) so that it covers H×W, i.e. its
 * shorter side becomes the target's for a square size, and center-cropped; augmentation (crop,
 * flip) applies on top as for any dataset.
 *
 * <p>Channels: 1 when every image is greyscale (8- or 16-bit grey PNG, grey JPEG, with or without
 * alpha), else 3 (RGB); in an RGB dataset a grey image's value goes to all three channels. Alpha is
 * dropped; a palette image counts as colour.
 *
 * <p>An image that cannot be decoded fails the read with one line naming its path.
 */
public final class ImageFolderReader {
    private ImageFolderReader() {
    }

    /** All images of one size, as they are. */
    public static ImageDataset read(Path dir, String name, Split split) throws IOException {
        return read(dir, name, split, null);
    }

    /**
     * @param size the size to bring every image to, or null when they already share one
     */
    public static ImageDataset read(Path dir, String name, Split split, ImageSize size) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " does not exist");
        }
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(dir)) {
            classDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        if (classDirs.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath()
                    + " has no class sub-folders (expected " + dir + "/<class>/<image>.png|jpg)");
        }
        List<String> classNames = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> fileLabels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            classNames.add(classDirs.get(c).getFileName().toString());
            List<Path> images;
            try (Stream<Path> s = Files.list(classDirs.get(c))) {
                images = s.filter(ImageFolderReader::isImage).sorted().toList();
            }
            for (Path p : images) {
                files.add(p);
                fileLabels.add(c);
            }
        }
        if (files.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " has no .png/.jpg images");
        }
        List<byte[]> planes = new ArrayList<>(files.size());
        List<Boolean> grey = new ArrayList<>(files.size());
        int h = -1;
        int w = -1;
        for (Path p : files) {
            BufferedImage img = decode(p);
            boolean g = isGray(img);
            byte[] px = planes(img, g);
            if (size == null) {
                if (h < 0) {
                    h = img.getHeight();
                    w = img.getWidth();
                } else if (img.getWidth() != w || img.getHeight() != h) {
                    throw new IOException("image " + p + " is " + img.getWidth() + "x" + img.getHeight()
                            + " but " + files.get(0) + " is " + w + "x" + h
                            + "; give --image-size H[,W] to resize and center-crop every image to one size");
                }
            } else {
                px = resizeAndCrop(px, g ? 1 : 3, img.getHeight(), img.getWidth(), size);
            }
            planes.add(px);
            grey.add(g);
        }
        if (size != null) {
            h = size.height();
            w = size.width();
        }
        boolean allGray = !grey.contains(false);
        int channels = allGray ? 1 : 3;
        int plane = h * w;
        int sampleSize = channels * plane;
        byte[] pixels = new byte[files.size() * sampleSize];
        int[] labels = new int[files.size()];
        long[] ids = new long[files.size()];
        for (int i = 0; i < planes.size(); i++) {
            byte[] px = planes.get(i);
            for (int c = 0; c < channels; c++) {
                // a grey image in an RGB dataset: its one plane in all three channels
                System.arraycopy(px, grey.get(i) ? 0 : c * plane, pixels, i * sampleSize + c * plane, plane);
            }
            labels[i] = fileLabels.get(i);
            ids[i] = i;
        }
        return new ImageDataset(name, split, channels, h, w, classNames, pixels, labels, ids);
    }

    /** The image's pixels as CHW planes: one for grey (16-bit keeps its high byte), else R, G, B. */
    private static byte[] planes(BufferedImage img, boolean grey) {
        int h = img.getHeight();
        int w = img.getWidth();
        byte[] out = new byte[(grey ? 1 : 3) * h * w];
        int shift = grey ? Math.max(0, img.getColorModel().getComponentSize(0) - 8) : 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (grey) {
                    out[y * w + x] = (byte) (img.getRaster().getSample(x, y, 0) >>> shift);
                } else {
                    int rgb = img.getRGB(x, y);
                    out[y * w + x] = (byte) (rgb >>> 16);
                    out[h * w + y * w + x] = (byte) (rgb >>> 8);
                    out[2 * h * w + y * w + x] = (byte) rgb;
                }
            }
        }
        return out;
    }

    /**
     * CHW planes scaled so that they cover {@code size} and center-cropped to it. Separable
     * triangle (bilinear) filter widened by the scale factor when shrinking, as PIL's bilinear
     * resize, so a large photo is averaged rather than aliased. Pure Java double arithmetic: the
     * same bytes on every JVM, which {@code --inputs reference} relies on (DESIGN.md §5).
     */
    static byte[] resizeAndCrop(byte[] src, int channels, int h, int w, ImageSize size) {
        int oh = size.height();
        int ow = size.width();
        if (h == oh && w == ow) {
            return src;
        }
        double scale = Math.max((double) oh / h, (double) ow / w);
        int sh = Math.max(oh, (int) Math.round(h * scale));
        int sw = Math.max(ow, (int) Math.round(w * scale));
        Filter fx = new Filter(w, sw, (sw - ow) / 2, ow);
        Filter fy = new Filter(h, sh, (sh - oh) / 2, oh);
        byte[] out = new byte[channels * oh * ow];
        double[] rows = new double[h * ow];
        for (int c = 0; c < channels; c++) {
            int base = c * h * w;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < ow; x++) {
                    double acc = 0;
                    for (int k = 0; k < fx.count[x]; k++) {
                        acc += fx.weight[x][k] * (src[base + y * w + fx.first[x] + k] & 0xff);
                    }
                    rows[y * ow + x] = acc;
                }
            }
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double acc = 0;
                    for (int k = 0; k < fy.count[y]; k++) {
                        acc += fy.weight[y][k] * rows[(fy.first[y] + k) * ow + x];
                    }
                    out[c * oh * ow + y * ow + x] = (byte) Math.max(0, Math.min(255, (int) Math.round(acc)));
                }
            }
        }
        return out;
    }

    /** Normalized triangle-filter taps for the {@code n} outputs from {@code offset} of an axis scaled {@code in → out}. */
    private static final class Filter {
        final int[] first;
        final int[] count;
        final double[][] weight;

        Filter(int in, int out, int offset, int n) {
            double ratio = (double) in / out;
            double support = Math.max(1.0, ratio); // radius in input pixels: 1 when enlarging
            first = new int[n];
            count = new int[n];
            weight = new double[n][];
            for (int o = 0; o < n; o++) {
                double center = (o + offset + 0.5) * ratio;
                int lo = Math.max(0, (int) Math.floor(center - support));
                int hi = Math.min(in, (int) Math.ceil(center + support));
                double[] wts = new double[hi - lo];
                double sum = 0;
                for (int i = lo; i < hi; i++) {
                    double t = Math.abs((i + 0.5 - center) / support);
                    wts[i - lo] = t < 1 ? 1 - t : 0;
                    sum += wts[i - lo];
                }
                for (int k = 0; k < wts.length; k++) {
                    wts[k] /= sum;
                }
                first[o] = lo;
                count[o] = wts.length;
                weight[o] = wts;
            }
        }
    }

    /** One image, or an IOException whose one-line message names the file and why it is unusable. */
    static BufferedImage decode(Path p) throws IOException {
        BufferedImage img;
        try {
            img = ImageIO.read(p.toFile());
        } catch (IOException | RuntimeException e) {
            // ImageIO throws IIOException for corrupt data and, for some truncated files, runtime exceptions
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new IOException("cannot read image " + p + ": " + why, e);
        }
        if (img == null) {
            throw new IOException("cannot read image " + p + ": not a PNG or JPEG file javax.imageio can decode");
        }
        return img;
    }

    private static boolean isGray(BufferedImage img) {
        return img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && !(img.getColorModel() instanceof IndexColorModel);
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(p) && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg"));
    }
}
