package io.kdstream.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.ImageFolderReader;
import io.kdstream.data.ImageSize;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.JpegDecoder;
import io.kdstream.data.Split;
import io.kdstream.data.SyntheticCorpus;

/**
 * What one data worker spends per image, in CPU time, so that the figure holds on a loaded machine:
 * kdstream's decode + rrc+flip to 224×224 + normalize on one thread (each JPEG decoder, rounds
 * alternating) against one DataLoader worker's Pillow + torchvision transforms
 * ({@code benchmarks/python/per_image_cpu.py}, Debian's Python) on the same corpus files.
 *
 * <pre>java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt) \
 *     io.kdstream.benchmarks.DataPathCpuCost [images=200] [rounds=5]</pre>
 */
public final class DataPathCpuCost {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private DataPathCpuCost() {
    }

    public static void main(String[] args) throws Exception {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path dir = Files.createTempDirectory("data-path-cpu");
        try {
            new SyntheticCorpus(10, 1, SyntheticCorpus.DEFAULT_QUALITY, 0).write(dir, images, 0);
            Path train = dir.resolve("train");
            InputNormalization norm = new InputNormalization(new float[] {0.485f, 0.456f, 0.406f},
                    new float[] {0.229f, 0.224f, 0.225f});
            JpegDecoder[] decoders = JpegDecoder.turboAvailable()
                    ? new JpegDecoder[] {JpegDecoder.TURBO, JpegDecoder.JAVA} : new JpegDecoder[] {JpegDecoder.JAVA};
            double[][] ms = new double[decoders.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < decoders.length; k++) {
                    int d = (r + k) % decoders.length; // alternate which goes first
                    ImageDataset ds = ImageFolderReader.read(train, "corpus", Split.TRAIN, new ImageSize(224, 224), 1.0,
                            decoders[d]);
                    BatchSource src = new BatchSource(ds, 7 + r, 32, AugmentPolicy.parse("rrc+flip")); // this thread
                    long t0 = MX.getCurrentThreadCpuTime();
                    long n = 0;
                    for (int b = 0; b < src.batchesPerEpoch(); b++) {
                        Batch batch = src.batch(0, b);
                        if (norm.normalize(batch.inputs(), 3, 224 * 224).length > 0) {
                            n += batch.size();
                        }
                    }
                    ms[d][r] = (MX.getCurrentThreadCpuTime() - t0) / 1e6 / n;
                }
            }
            System.out.printf(Locale.ROOT, "%d corpus JPEGs (~500x375 q90), decode + rrc+flip to 224x224 + normalize, one thread, "
                    + "%d rounds%n", images, rounds);
            for (int d = 0; d < decoders.length; d++) {
                double[] v = ms[d].clone();
                Arrays.sort(v);
                System.out.printf(Locale.ROOT, "kdstream --jpeg-decoder %-5s %.2f ms CPU per image (median; range %.2f-%.2f)%n",
                        decoders[d].tag(), v[rounds / 2], v[0], v[rounds - 1]);
            }
            Path script = Path.of("benchmarks/python/per_image_cpu.py").toAbsolutePath();
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", script.toString(), train.toString(),
                    Integer.toString(rounds)).redirectErrorStream(true);
            pb.environment().put("OMP_NUM_THREADS", "1");
            Process p = pb.start();
            System.out.print(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            p.waitFor();
        } finally {
            delete(dir);
        }
    }

    private static void delete(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
