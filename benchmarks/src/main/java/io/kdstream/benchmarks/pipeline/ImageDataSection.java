package io.kdstream.benchmarks.pipeline;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DataWorkers;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.ImageFolderReader;
import io.kdstream.data.ImageSize;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.JpegDecoder;
import io.kdstream.data.SampleIndex;
import io.kdstream.data.Split;
import io.kdstream.data.SyntheticCorpus;

/**
 * Issue 37's image data path, side by side in one run: decode + rrc+flip + normalize at 224×224
 * with 1 and 2 data workers, with each JPEG decoder, against PyTorch's DataLoader (Pillow + torchvision, the same worker
 * count, the same files); the sample index's build time and the heap and RSS of a lazily read
 * dataset at 10,000 and 100,000 files (hard links to the corpus's images, so the listing and the
 * headers are real files while the disk holds the corpus once).
 */
final class ImageDataSection extends PipelineSection {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final int BATCH = 128;
    private static final ImageSize SIZE = new ImageSize(224, 224);

    ImageDataSection(Bench bench) {
        super(bench);
    }

    void run(int images) throws Exception {
        Path corpus = work.resolve("image-corpus");
        long t0 = System.nanoTime();
        new SyntheticCorpus(100, 1, SyntheticCorpus.DEFAULT_QUALITY, 0).write(corpus, images, 0);
        System.out.printf(Locale.ROOT, "images: corpus of %d JPEGs written in %.0f s%n", images, (System.nanoTime() - t0) / 1e9);
        Path train = corpus.resolve("train");
        // both JPEG decoders, each against the same PyTorch run: libjpeg-turbo (where it loads) and javax.imageio
        Map<JpegDecoder, ImageDataset> byDecoder = new LinkedHashMap<>();
        if (JpegDecoder.turboAvailable()) {
            byDecoder.put(JpegDecoder.TURBO, ImageFolderReader.read(train, "corpus", Split.TRAIN, SIZE, 1.0, JpegDecoder.TURBO));
        } else {
            System.out.println("images: libjpeg-turbo: " + JpegDecoder.turboMissing() + "; its rows are left out");
        }
        byDecoder.put(JpegDecoder.JAVA, ImageFolderReader.read(train, "corpus", Split.TRAIN, SIZE, 1.0, JpegDecoder.JAVA));
        InputNormalization norm = new InputNormalization(new float[] {0.485f, 0.456f, 0.406f},
                new float[] {0.229f, 0.224f, 0.225f});
        for (int workers : new int[] {1, 2}) {
            // two rounds, alternating sides, so that a change in the machine's load hits both
            for (int round = 1; round <= 2; round++) {
                Map<JpegDecoder, Double> ours = new LinkedHashMap<>();
                String peer = null;
                if (round == 2) {
                    peer = peer(train, workers);
                }
                for (var e : byDecoder.entrySet()) {
                    ours.put(e.getKey(), kdstream(e.getValue(), norm, workers));
                }
                if (round == 1) {
                    peer = peer(train, workers);
                }
                double theirs = peer == null ? Double.NaN : Double.parseDouble(peer.replaceAll(".*=", ""));
                StringBuilder kd = new StringBuilder();
                ours.forEach((d, rate) -> kd.append(String.format(Locale.ROOT, "kdstream --jpeg-decoder %s %.0f images/s "
                        + "= **%.2f×**, ", d.tag(), rate, rate / theirs)));
                rows.add(String.format(Locale.ROOT, "| images: decode + rrc+flip + normalize, %d JPEGs ~500×375 q90 → "
                                + "224×224, batch %d, %d data worker%s, round %d (machine shared, noisy) | %sPyTorch "
                                + "DataLoader (Pillow, %d worker%s) %s (target ≥ 1.0×) |", images, BATCH,
                        workers, workers == 1 ? "" : "s", round, kd, workers, workers == 1 ? "" : "s",
                        peer == null ? "skipped (no python3-torchvision)" : String.format(Locale.ROOT, "%.0f images/s", theirs)));
            }
        }
        scale(train, images);
    }

    private static double kdstream(ImageDataset ds, InputNormalization norm, int workers) {
        try (DataWorkers w = DataWorkers.of(workers)) {
            BatchSource src = new BatchSource(ds, 7, BATCH, AugmentPolicy.parse("rrc+flip"), w);
            long t0 = System.nanoTime();
            long n = 0;
            for (int b = 0; b < src.batchesPerEpoch(); b++) {
                Batch batch = src.batch(0, b);
                float[] x = norm.normalize(batch.inputs(), 3, 224 * 224);
                n += batch.size() + (x.length == 0 ? 1 : 0);
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static String peer(Path train, int workers) throws Exception {
        Path script = Path.of("benchmarks/python/dataloader_images.py").toAbsolutePath();
        if (!Files.isExecutable(PYTHON) || !Files.isRegularFile(script)) {
            return null;
        }
        Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), train.toString(), Integer.toString(workers))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            return null;
        }
        return out.lines().reduce((a, b) -> b).orElse(null);
    }

    /** Index build time and memory at 10,000 and 100,000 files. */
    private void scale(Path train, int images) throws IOException {
        List<Path> sources;
        try (Stream<Path> s = Files.walk(train)) {
            sources = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        }
        for (int files : new int[] {10_000, 100_000}) {
            Path tree = work.resolve("links-" + files);
            for (int i = 0; i < files; i++) {
                Path link = tree.resolve(String.format(Locale.ROOT, "n%04d/%08d.jpg", i % 1000, i));
                if (i < 1000) {
                    Files.createDirectories(link.getParent());
                }
                Files.createLink(link, sources.get(i % sources.size()));
            }
            // links made just now would not be cached (changed within 2 s of the listing): date them back
            long past = System.currentTimeMillis() - 60_000;
            try (Stream<Path> dirs = Files.list(tree)) {
                for (Path d : dirs.toList()) {
                    Files.setLastModifiedTime(d, java.nio.file.attribute.FileTime.fromMillis(past));
                }
            }
            Files.setLastModifiedTime(tree, java.nio.file.attribute.FileTime.fromMillis(past));
            long t0 = System.nanoTime();
            SampleIndex index = SampleIndex.of(tree);
            double build = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            SampleIndex.of(tree);
            double cached = (System.nanoTime() - t0) / 1e9;
            ImageDataset ds = ImageFolderReader.read(tree, "links", Split.TRAIN, SIZE);
            BatchSource src = new BatchSource(ds, 1, BATCH, AugmentPolicy.parse("rrc+flip"));
            for (int b = 0; b < 5; b++) {
                src.batch(0, b);
            }
            System.gc();
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            rows.add(String.format(Locale.ROOT, "| images: sample index of %,d files (hard links to the %d JPEGs, 1,000 "
                            + "class folders; page cache warm; machine shared) | built in %.1f s (%.0f files/s; 1.28 M ≈ %.0f s), "
                            + "read from its cache in %.2f s; heap after GC, 5 batches read, %d MB; RSS %d MB (-Xms2g pre-touched) (digest %s) |",
                    files, images, build, files / build, 1_281_167 / (files / build), cached, heap >> 20, rssMb(),
                    index.digest()));
        }
    }

    private static long rssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) >> 10;
            }
        }
        return -1;
    }
}
