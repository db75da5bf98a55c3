package io.kdstream.benchmarks;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

import io.kdstream.data.ImageDecoder;
import io.kdstream.data.JpegDecoder;

/**
 * What each JPEG decoder costs on ordinary YCbCr JPEGs: the JDK's reader and TwelveMonkeys' (the
 * ImageIO plugin that reads CMYK/YCCK JPEGs) as bare ImageIO reads, and kdstream's
 * {@code ImageDecoder} through javax.imageio and through libjpeg-turbo (both to CHW planes, what a
 * data worker gets), then Pillow ({@code Image.open(f).convert("RGB")}, Debian's /usr/bin/python3)
 * on the same files. Synthetic ImageNet-shaped JPEGs (500x375, quality 90), rounds on one thread
 * rotating which decoder goes first, timed in thread CPU time so that other load on the machine
 * counts less. Prints images per CPU-second and per-round ratios (median and range).
 *
 * <pre>java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     io.kdstream.benchmarks.JpegDecodeCost [images] [rounds]</pre>
 */
public final class JpegDecodeCost {

    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private JpegDecodeCost() {
    }

    /** One way to decode a JPEG's bytes. */
    private interface Decoder {
        void decode(byte[] jpeg) throws IOException;
    }

    public static void main(String[] args) throws IOException, InterruptedException {
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
        Map<String, Decoder> decoders = new LinkedHashMap<>();
        ImageReader jdkReader = jdk;
        ImageReader tmReader = twelveMonkeys;
        decoders.put("JDK reader", b -> read(jdkReader, b));
        decoders.put("TwelveMonkeys reader", b -> read(tmReader, b));
        decoders.put("kdstream java", b -> planes(ImageDecoder.decode(b, "bench", JpegDecoder.JAVA)));
        if (JpegDecoder.turboAvailable()) {
            decoders.put("kdstream turbo", b -> planes(ImageDecoder.decode(b, "bench", JpegDecoder.TURBO)));
        } else {
            System.out.println("libjpeg-turbo: " + JpegDecoder.turboMissing() + "; its row is left out");
        }
        List<String> names = new ArrayList<>(decoders.keySet());
        Map<String, List<Long>> nanos = new LinkedHashMap<>();
        names.forEach(n -> nanos.put(n, new ArrayList<>()));
        int warmup = Math.min(5, rounds / 3);
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < names.size(); k++) { // rotate, so none always runs on a warmer cache
                String name = names.get((round + k) % names.size());
                long t = decodeAll(decoders.get(name), jpegs);
                if (round >= warmup) {
                    nanos.get(name).add(t);
                }
            }
        }
        int n = rounds - warmup;
        System.out.printf(Locale.ROOT, "%d JPEGs 500x375 q90 (%.0f KB each), %d rounds after %d warm-up; ImageIO.read uses %s%n",
                images, bytes / 1024.0 / images, n, warmup, used);
        List<Long> base = nanos.get("kdstream java");
        for (String name : names) {
            List<Long> t = nanos.get(name);
            long total = t.stream().mapToLong(Long::longValue).sum();
            List<Double> ratios = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                ratios.add((double) base.get(r) / t.get(r));
            }
            Collections.sort(ratios);
            System.out.printf(Locale.ROOT, "%-22s %5.0f images per CPU-second; speed against kdstream java per round: "
                    + "median %.3f, range %.3f-%.3f%n", name, (double) n * images / (total / 1e9), ratios.get(n / 2),
                    ratios.get(0), ratios.get(n - 1));
        }
        pillow(jpegs, rounds, warmup);
    }

    /** Pillow on the same files, in Debian's Python, timed the same way (process CPU time per round). */
    private static void pillow(List<byte[]> jpegs, int rounds, int warmup) throws IOException, InterruptedException {
        Path python = Path.of("/usr/bin/python3");
        if (!Files.isExecutable(python)) {
            System.out.println("Pillow: /usr/bin/python3 not found; its row is left out");
            return;
        }
        Path dir = Files.createTempDirectory("jpeg-decode-cost");
        try {
            for (int i = 0; i < jpegs.size(); i++) {
                Files.write(dir.resolve(String.format(Locale.ROOT, "%04d.jpg", i)), jpegs.get(i));
            }
            String script = String.join("\n",
                    "import glob, io, sys, time",
                    "from PIL import Image, features",
                    "files = [open(f, 'rb').read() for f in sorted(glob.glob(sys.argv[1] + '/*.jpg'))]",
                    "rounds, warmup = int(sys.argv[2]), int(sys.argv[3])",
                    "times = []",
                    "for r in range(rounds):",
                    "    t = time.process_time()",
                    "    for b in files:",
                    "        Image.open(io.BytesIO(b)).convert('RGB')",
                    "    if r >= warmup: times.append(time.process_time() - t)",
                    "print('%-22s %5.0f images per CPU-second (Pillow %s, libjpeg-turbo %s)' % ('Pillow', "
                            + "len(files) * len(times) / sum(times), Image.__version__, features.version('libjpeg_turbo')))");
            Process p = new ProcessBuilder(python.toString(), "-c", script, dir.toString(), Integer.toString(rounds),
                    Integer.toString(warmup)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            System.out.print(out);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private static void planes(ImageDecoder.Planes p) {
        if (p.width() != 500) {
            throw new IllegalStateException("decoded " + p.width() + " wide");
        }
    }

    private static void read(ImageReader reader, byte[] b) throws IOException {
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

    /** Thread CPU nanoseconds to decode every image with {@code decoder}. */
    private static long decodeAll(Decoder decoder, List<byte[]> jpegs) throws IOException {
        long start = MX.getCurrentThreadCpuTime();
        for (byte[] b : jpegs) {
            decoder.decode(b);
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
