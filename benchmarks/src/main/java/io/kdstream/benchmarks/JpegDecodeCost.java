package io.kdstream.benchmarks;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

/**
 * What TwelveMonkeys' JPEG reader (the ImageIO plugin that reads CMYK/YCCK JPEGs) costs on an
 * ordinary YCbCr JPEG against the JDK's own reader: both decode the same synthetic ImageNet-shaped
 * JPEGs (500x375, quality 90) in alternating rounds on one thread, timed in thread CPU time so that
 * other load on the machine counts less. Prints the per-round ratio (median and range).
 *
 * <pre>java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     io.kdstream.benchmarks.JpegDecodeCost [images] [rounds]</pre>
 */
public final class JpegDecodeCost {

    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private JpegDecodeCost() {
    }

    public static void main(String[] args) throws IOException {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        List<byte[]> jpegs = new ArrayList<>();
        Random random = new Random(1);
        long bytes = 0;
        for (int i = 0; i < images; i++) {
            jpegs.add(jpeg(photoLike(500, 375, random), 0.9f));
            bytes += jpegs.get(i).length;
        }
        ImageReader jdk = null;
        ImageReader twelveMonkeys = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg"); it.hasNext(); ) {
            ImageReader r = it.next();
            if (r.getClass().getName().startsWith("com.twelvemonkeys.")) {
                twelveMonkeys = r;
            } else if (r.getClass().getName().startsWith("com.sun.imageio.")) {
                jdk = r;
            }
        }
        if (jdk == null || twelveMonkeys == null) {
            throw new IllegalStateException("need both the JDK's and TwelveMonkeys' JPEG readers on the class path");
        }
        String used = ImageIO.getImageReadersByFormatName("jpeg").next().getClass().getName();
        List<Double> ratios = new ArrayList<>();
        long jdkNanos = 0;
        long tmNanos = 0;
        int warmup = Math.min(5, rounds / 3);
        for (int round = 0; round < rounds; round++) {
            boolean jdkFirst = round % 2 == 0; // alternate, so neither always runs on a warmer cache
            long a = decodeAll(jdkFirst ? jdk : twelveMonkeys, jpegs);
            long b = decodeAll(jdkFirst ? twelveMonkeys : jdk, jpegs);
            long j = jdkFirst ? a : b;
            long t = jdkFirst ? b : a;
            if (round >= warmup) {
                ratios.add((double) j / t);
                jdkNanos += j;
                tmNanos += t;
            }
        }
        Collections.sort(ratios);
        int n = ratios.size();
        System.out.printf(Locale.ROOT, "%d JPEGs 500x375 q90 (%.0f KB each), %d rounds after %d warm-up; ImageIO.read uses %s%n",
                images, bytes / 1024.0 / images, n, warmup, used);
        System.out.printf(Locale.ROOT, "JDK reader %.0f images per CPU-second, TwelveMonkeys %.0f; speed TwelveMonkeys/JDK per round: "
                        + "median %.3f, range %.3f-%.3f%n",
                (double) n * images / (jdkNanos / 1e9), (double) n * images / (tmNanos / 1e9), ratios.get(n / 2),
                ratios.get(0), ratios.get(n - 1));
    }

    /** Thread CPU nanoseconds to decode every image with {@code reader}. */
    private static long decodeAll(ImageReader reader, List<byte[]> jpegs) throws IOException {
        long start = MX.getCurrentThreadCpuTime();
        for (byte[] b : jpegs) {
            try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(b))) {
                reader.setInput(in);
                BufferedImage img = reader.read(0);
                if (img.getWidth() != 500) {
                    throw new IllegalStateException("decoded " + img.getWidth() + " wide");
                }
            } finally {
                reader.reset();
            }
        }
        return MX.getCurrentThreadCpuTime() - start;
    }

    /** Smooth colour fields with fine noise: compresses about like a photo at quality 90. */
    private static BufferedImage photoLike(int w, int h, Random random) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        double fx = 0.005 + random.nextDouble() * 0.02;
        double fy = 0.005 + random.nextDouble() * 0.02;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = clamp(128 + 100 * Math.sin(x * fx) + random.nextGaussian() * 12);
                int g = clamp(128 + 100 * Math.cos(y * fy) + random.nextGaussian() * 12);
                int b = clamp(128 + 100 * Math.sin((x + y) * fx * 0.7) + random.nextGaussian() * 12);
                img.setRGB(x, y, r << 16 | g << 8 | b);
            }
        }
        return img;
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }

    private static byte[] jpeg(BufferedImage img, float quality) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam p = writer.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(quality);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, null), p);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }
}
