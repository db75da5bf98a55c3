package io.kdstream.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads a split lazily: {@code dir/<class>/<image>.png|jpg|jpeg} (class index by sorted folder name,
 * sample id by rank in sorted {@code <class>/<file>} order) or WebDataset-style tar shards
 * {@code dir/*.tar} holding {@code <key>.jpg|jpeg|png} and {@code <key>.cls} (sample id by rank in
 * sorted shard order, then member order). Only the {@link SampleIndex} is read up front (and cached);
 * a sample's bytes are read and decoded when a batch needs them.
 *
 * <p>Without an {@link ImageSize} all images must share one size (checked on the index of a folder,
 * from the image headers). With one, each image is scaled (bilinear, averaging when shrinking:
 * {@link #resizeAndCrop}) so that it covers H×W, i.e. its shorter side becomes the target's for a
 * square size, and center-cropped; augmentation (crop, flip) applies on top as for any dataset.
 *
 * <p>Channels: for a folder 1 when every image is greyscale (8- or 16-bit grey PNG, grey JPEG, with
 * or without alpha), else 3 (RGB); in an RGB dataset a grey image's value goes to all three
 * channels. Tar shards are always RGB (their headers are not read up front). Alpha is dropped; a
 * palette image counts as colour.
 *
 * <p>An image that cannot be read fails with one line naming its path (or shard and offset).
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
        return read(dir, name, split, size, 1.0);
    }

    /**
     * @param centreCrop the share of the resized image kept by the centre crop: 1 covers the size
     *                   exactly; {@link AugmentPolicy#EVAL_CENTRE_CROP} (224/256) is torchvision's
     *                   ImageNet evaluation, {@code Resize(S·256/224)} then {@code CenterCrop(S)}
     */
    public static ImageDataset read(Path dir, String name, Split split, ImageSize size, double centreCrop)
            throws IOException {
        return read(dir, name, split, size, centreCrop, JpegDecoder.AUTO);
    }

    /** {@link #read(Path, String, Split, ImageSize, double)} with its JPEGs decoded by {@code decoder}. */
    public static ImageDataset read(Path dir, String name, Split split, ImageSize size, double centreCrop,
                                    JpegDecoder decoder) throws IOException {
        if (!(centreCrop > 0 && centreCrop <= 1)) {
            throw new IllegalArgumentException("centre crop must be in (0, 1], got " + centreCrop);
        }
        if (!Files.isDirectory(dir)) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " does not exist");
        }
        SampleIndex index = SampleIndex.of(dir);
        int n = index.size();
        int h;
        int w;
        int channels;
        if (index.isShards()) {
            if (size == null) {
                throw new IllegalArgumentException("tar shards in " + dir + " need --image-size H[,W]: their images' sizes "
                        + "are not read up front");
            }
            h = size.height();
            w = size.width();
            channels = 3;
        } else {
            boolean allGrey = true;
            int first = -1;
            for (int r = 0; r < n; r++) {
                if (!index.unreadable(r)) {
                    allGrey &= index.grey[r];
                    first = first < 0 ? r : first;
                }
            }
            if (first < 0) {
                throw new IOException("no image in " + dir + " can be read; the first: " + index.describe(dir, 0));
            }
            channels = allGrey ? 1 : 3;
            if (size == null) {
                h = index.heights[first];
                w = index.widths[first];
                for (int r = first + 1; r < n; r++) {
                    if (!index.unreadable(r) && (index.widths[r] != w || index.heights[r] != h)) {
                        throw new IOException("image " + index.describe(dir, r) + " is " + index.widths[r] + "x"
                                + index.heights[r] + " but " + index.describe(dir, first) + " is " + w + "x" + h
                                + "; give --image-size H[,W] to resize and center-crop every image to one size");
                    }
                }
            } else {
                h = size.height();
                w = size.width();
            }
        }
        int[] labels = index.labels.clone();
        long[] ids = new long[n];
        int[] rows = new int[n];
        for (int r = 0; r < n; r++) {
            ids[r] = r;
            rows[r] = r;
        }
        return new ImageDataset(new ImageDataset.Layout(name, split, channels, h, w, index.classNames),
                new DecodedPixels(dir, index, channels, new ImageSize(h, w), centreCrop, decoder.resolve()), rows, labels, ids);
    }

    /** Row r's image read from disk, decoded, brought to the dataset's size and channels on every call. */
    private record DecodedPixels(Path dir, SampleIndex index, int channels, ImageSize size, double centreCrop,
                                 JpegDecoder decoder)
            implements ImageDataset.Pixels {
        @Override
        public ImageDecoder.Planes source(int row) {
            try {
                return ImageDecoder.decode(index.read(dir, row), index.describe(dir, row), decoder);
            } catch (IOException e) {
                throw unreadable(row, e);
            }
        }

        private UncheckedIOException unreadable(int row, IOException e) {
            String msg = e.getMessage() != null && e.getMessage().startsWith("cannot read image") ? e.getMessage()
                    : "cannot read image " + index.describe(dir, row) + ": " + SampleIndex.oneLine(e);
            return new UncheckedIOException(msg, e);
        }

        @Override
        public void copy(int row, byte[] dst, int offset) {
            try {
                ImageDecoder.Planes img = ImageDecoder.decode(index.read(dir, row), index.describe(dir, row), decoder);
                byte[] px = centreCrop == 1.0 ? resizeAndCrop(img.pixels(), img.channels(), img.height(), img.width(), size)
                        : resizeShorterAndCentreCrop(img.pixels(), img.channels(), img.height(), img.width(), size, centreCrop);
                int plane = size.height() * size.width();
                for (int c = 0; c < channels; c++) {
                    // a grey image in an RGB dataset: its one plane in all three channels
                    System.arraycopy(px, img.channels() == 1 ? 0 : c * plane, dst, offset + c * plane, plane);
                }
            } catch (IOException e) {
                throw unreadable(row, e);
            }
        }
    }

    /**
     * CHW planes scaled so that they cover {@code size} and center-cropped to it. Separable
     * triangle (bilinear) filter widened by the scale factor when shrinking, as PIL's bilinear
     * resize, so a large photo is averaged rather than aliased. PIL's fixed point in pure Java
     * integer sums: the same bytes on every JVM, which {@code --inputs reference} relies on
     * (DESIGN.md §5), and Pillow's bytes.
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
        return filter(src, channels, h, w, new Filter(0, w, sw, (sw - ow) / 2, ow), new Filter(0, h, sh, (sh - oh) / 2, oh));
    }

    /**
     * torchvision's evaluation view: {@code Resize(round(S / crop))} (shorter side to that, the longer
     * truncated as torchvision computes it) then {@code CenterCrop(S)} (offsets rounded half to even),
     * with the same bilinear filter. For a square S = 224 and crop 224/256: Resize(256), CenterCrop(224).
     */
    static byte[] resizeShorterAndCentreCrop(byte[] src, int channels, int h, int w, ImageSize size, double crop) {
        int oh = size.height();
        int ow = size.width();
        int shorter = (int) Math.rint(Math.min(oh, ow) / crop);
        int sh;
        int sw;
        if (h <= w) {
            sh = shorter;
            sw = Math.max(ow, (int) ((long) shorter * w / h));
        } else {
            sw = shorter;
            sh = Math.max(oh, (int) ((long) shorter * h / w));
        }
        sh = Math.max(sh, oh);
        sw = Math.max(sw, ow);
        int top = (int) Math.rint((sh - oh) / 2.0);
        int left = (int) Math.rint((sw - ow) / 2.0);
        return filter(src, channels, h, w, new Filter(0, w, sw, left, ow), new Filter(0, h, sh, top, oh));
    }

    /**
     * The region {@code box} (top, left, height, width) of decoded planes resized to {@code size} with the same
     * filter: PIL's {@code crop} then {@code resize(BILINEAR)}, i.e. torchvision's
     * {@code resized_crop} on a PIL image (taps stay inside the region).
     */
    static byte[] resizeRegion(ImageDecoder.Planes src, AugmentPolicy.View box, ImageSize size) {
        return filter(src.pixels(), src.channels(), src.height(), src.width(),
                new Filter(box.left(), box.width(), size.width(), 0, size.width()),
                new Filter(box.top(), box.height(), size.height(), 0, size.height()));
    }

    /**
     * Two separable passes in PIL's fixed point ({@code ImagingResample}, 8-bit: 22-bit integer
     * weights, rounded, each pass clipped to uint8), horizontal first over the rows the vertical
     * pass reads; so the result is Pillow's bilinear resize to the value, with no floating point in
     * the sums. The sums are ints, as PIL's: bilinear weights are non-negative and add up to about
     * 2^22, so 255 × their sum stays below 2^31. The vertical pass runs a row at a time over int
     * rows (contiguous multiply-adds): about 20% less CPU than a pixel at a time
     * in longs, the same bytes.
     */
    private static byte[] filter(byte[] src, int channels, int h, int w, Filter fx, Filter fy) {
        int oh = fy.first.length;
        int ow = fx.first.length;
        int y0 = fy.first[0];
        int y1 = fy.first[oh - 1] + fy.count[oh - 1];
        for (int y = 0; y < oh; y++) { // rows read by the vertical pass: [y0, y1)
            y0 = Math.min(y0, fy.first[y]);
            y1 = Math.max(y1, fy.first[y] + fy.count[y]);
        }
        int rowsUsed = y1 - y0;
        byte[] out = new byte[channels * oh * ow];
        int[] rows = new int[rowsUsed * ow]; // the horizontal pass's output, clipped to [0, 255]
        int[] acc = new int[ow];
        for (int c = 0; c < channels; c++) {
            int base = c * h * w;
            for (int y = 0; y < rowsUsed; y++) {
                int line = base + (y0 + y) * w;
                int row = y * ow;
                for (int x = 0; x < ow; x++) {
                    int[] k = fx.coeff[x];
                    int first = line + fx.first[x];
                    int sum = Filter.HALF;
                    for (int t = 0; t < k.length; t++) {
                        sum += (src[first + t] & 0xff) * k[t];
                    }
                    rows[row + x] = Filter.clip8(sum);
                }
            }
            int outBase = c * oh * ow;
            for (int y = 0; y < oh; y++) {
                int[] k = fy.coeff[y];
                int first = (fy.first[y] - y0) * ow;
                Arrays.fill(acc, Filter.HALF);
                for (int t = 0; t < k.length; t++) {
                    int kt = k[t];
                    int row = first + t * ow;
                    for (int x = 0; x < ow; x++) {
                        acc[x] += rows[row + x] * kt;
                    }
                }
                int o = outBase + y * ow;
                for (int x = 0; x < ow; x++) {
                    out[o + x] = (byte) Filter.clip8(acc[x]);
                }
            }
        }
        return out;
    }

    /**
     * PIL's bilinear taps ({@code precompute_coeffs}, then {@code normalize_coeffs_8bpc}) for the
     * {@code n} outputs from {@code offset} of the input span [start, start + in) scaled to
     * {@code out} pixels; the span is cropped first, as torchvision crops before resizing, so taps
     * stay inside it.
     */
    private static final class Filter {
        static final int PRECISION_BITS = 32 - 8 - 2;
        static final int HALF = 1 << (PRECISION_BITS - 1);

        final int[] first;
        final int[] count;
        final int[][] coeff;

        Filter(int start, int in, int out, int offset, int n) {
            double scale = (double) in / out;
            double filterScale = Math.max(1.0, scale);
            double support = filterScale; // bilinear support 1, widened when shrinking
            double ss = 1.0 / filterScale;
            first = new int[n];
            count = new int[n];
            coeff = new int[n][];
            for (int o = 0; o < n; o++) {
                double center = (o + offset + 0.5) * scale;
                int xmin = Math.max(0, (int) (center - support + 0.5)); // C's (int): toward zero
                int xmax = Math.min(in, (int) (center + support + 0.5)) - xmin;
                double[] k = new double[Math.max(0, xmax)];
                double ww = 0;
                for (int x = 0; x < k.length; x++) {
                    double t = Math.abs((x + xmin - center + 0.5) * ss);
                    k[x] = t < 1 ? 1 - t : 0;
                    ww += k[x];
                }
                int[] fixed = new int[k.length];
                for (int x = 0; x < k.length; x++) {
                    double v = ww != 0 ? k[x] / ww : k[x];
                    fixed[x] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
                }
                first[o] = start + xmin;
                count[o] = fixed.length;
                coeff[o] = fixed;
            }
        }

        static int clip8(int acc) {
            int v = acc >> PRECISION_BITS;
            return v < 0 ? 0 : v > 255 ? 255 : v;
        }
    }
}
