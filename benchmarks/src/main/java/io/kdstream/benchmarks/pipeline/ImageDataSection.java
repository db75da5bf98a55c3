package io.kdstream.benchmarks.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * count, the same files), plus kdstream reading a batch ahead on a loader thread as the teacher does;
 * the sample index's build time and the heap and RSS of a lazily read dataset at 10,000 and 100,000
 * files (hard links to the corpus's images, so the listing and the headers are real files while the
 * disk holds the corpus once), each in a fresh JVM without a pre-touched heap. Every row says the
 * load average before and after it.
 */
final class ImageDataSection extends PipelineSection {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final int BATCH = 128;
    private static final ImageSize SIZE = new ImageSize(224, 224);

    ImageDataSection(Bench bench) {
        super(bench);
    }

    /**
     * {@code images} JPEGs written to the work dir, or, with {@code existing} (a {@code kdstream corpus}
     * folder), that corpus's training images; {@code rounds} per worker count, PyTorch last in odd
     * rounds and first in even ones; {@code withScale}: also the index and RSS rows.
     */
    void run(int images, Path existing, int rounds, boolean withScale) throws Exception {
        Path corpus = existing != null ? existing : work.resolve("image-corpus");
        if (existing == null) {
            long t0 = System.nanoTime();
            new SyntheticCorpus(100, 1, SyntheticCorpus.DEFAULT_QUALITY, 0).write(corpus, images, 0);
            System.out.printf(Locale.ROOT, "images: corpus of %d JPEGs written in %.0f s%n", images, (System.nanoTime() - t0) / 1e9);
        } else {
            images = SampleIndex.of(corpus.resolve("train")).size();
            System.out.printf(Locale.ROOT, "images: reading the %d JPEGs of %s%n", images, corpus);
        }
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
            // rounds alternating sides, so that a change in the machine's load hits both
            for (int round = 1; round <= rounds; round++) {
                String loadBefore = loadAverage();
                Map<String, Double> ours = new LinkedHashMap<>();
                String peer = null;
                if (round % 2 == 0) {
                    peer = peer(train, workers);
                }
                for (var e : byDecoder.entrySet()) {
                    ours.put(e.getKey().tag(), kdstream(e.getValue(), norm, workers, false));
                    printRate(e.getKey().tag(), workers, ours.get(e.getKey().tag()));
                }
                // as the teacher reads: the next batch decoded on a loader thread while this one is normalized
                JpegDecoder first = byDecoder.keySet().iterator().next();
                ours.put(first.tag() + ", a batch ahead", kdstream(byDecoder.get(first), norm, workers, true));
                printRate(first.tag() + ", a batch ahead", workers, ours.get(first.tag() + ", a batch ahead"));
                if (round % 2 == 1) {
                    peer = peer(train, workers);
                }
                double theirs = peer == null ? Double.NaN : Double.parseDouble(peer.replaceAll(".*=", ""));
                StringBuilder kd = new StringBuilder();
                ours.forEach((d, rate) -> kd.append(String.format(Locale.ROOT, "kdstream --jpeg-decoder %s %.0f images/s "
                        + "= **%.2f×**, ", d, rate, rate / theirs)));
                rows.add(String.format(Locale.ROOT, "| images: decode + rrc+flip + normalize, %d JPEGs ~500×375 q90 → "
                                + "224×224, batch %d, %d data worker%s, round %d (load %s → %s) | %sPyTorch "
                                + "DataLoader (Pillow, %d worker%s) %s (target ≥ 1.0×) |", images, BATCH,
                        workers, workers == 1 ? "" : "s", round, loadBefore, loadAverage(), kd, workers, workers == 1 ? "" : "s",
                        peer == null ? "skipped (no python3-torchvision)" : String.format(Locale.ROOT, "%.0f images/s", theirs)));
                System.out.println(rows.get(rows.size() - 1));
            }
        }
        if (withScale) {
            scale(train, images);
        }
    }

    /**
     * One epoch, images/s. {@code ahead}: batch b + 1 is read on a loader thread while batch b is
     * normalized (what {@code TeacherPipeline.prefetch} does ahead of the forward); otherwise every
     * batch is read, then normalized, on this thread and the data workers.
     */
    private static double kdstream(ImageDataset ds, InputNormalization norm, int workers, boolean ahead) throws Exception {
        ExecutorService loader = ahead ? Executors.newSingleThreadExecutor() : null;
        try (DataWorkers w = DataWorkers.of(workers)) {
            BatchSource src = new BatchSource(ds, 7, BATCH, AugmentPolicy.parse("rrc+flip"), w);
            long t0 = System.nanoTime();
            long n = 0;
            Future<Batch> next = ahead ? loader.submit(() -> src.batch(0, 0)) : null;
            for (int b = 0; b < src.batchesPerEpoch(); b++) {
                Batch batch;
                if (ahead) {
                    batch = next.get();
                    int following = b + 1;
                    next = following < src.batchesPerEpoch() ? loader.submit(() -> src.batch(0, following)) : null;
                } else {
                    batch = src.batch(0, b);
                }
                float[] x = norm.normalize(batch.inputs(), 3, 224 * 224);
                n += batch.size() + (x.length == 0 ? 1 : 0);
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        } finally {
            if (loader != null) {
                loader.shutdownNow();
            }
        }
    }

    private static void printRate(String decoder, int workers, double rate) {
        System.out.printf(Locale.ROOT, "images: kdstream --jpeg-decoder %s, %d worker(s): %.0f images/s (load %s)%n",
                decoder, workers, rate, loadAverage());
    }

    /** The 1-, 5- and 15-minute load averages, so each row says how busy the machine was. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
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
        String last = out.lines().reduce((a, b) -> b).orElse(null);
        System.out.printf(Locale.ROOT, "images: PyTorch DataLoader, %d worker(s): %s (load %s)%n", workers, last, loadAverage());
        return last;
    }

    /**
     * Index build time and memory at 10,000 and 100,000 files (1,000 and 10,000 with --quick), each in a JVM of its own
     * ({@link ImageScaleProbe}) whose heap is not pre-touched, so that its RSS is what the dataset costs.
     */
    private void scale(Path train, int images) throws Exception {
        List<Path> sources;
        try (Stream<Path> s = Files.walk(train)) {
            sources = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        }
        int[] sizes = quick ? new int[] {1_000, 10_000} : new int[] {10_000, 100_000};
        for (int files : sizes) {
            Path tree = work.resolve("links-" + files);
            for (int i = 0; i < files; i++) {
                Path link = tree.resolve(String.format(Locale.ROOT, "n%04d/%08d.jpg", i % 1000, i));
                if (i < 1000) {
                    Files.createDirectories(link.getParent()); // 1,000 class folders, as ImageNet
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
        }
        // each size twice, alternating, each probe with an index built afresh: RSS without a pre-touched heap moves
        for (int rep = 1; rep <= 2; rep++) {
            for (int files : sizes) {
                probe(work.resolve("links-" + files), files, images, work.resolve("index-" + files + "-" + rep));
            }
        }
    }

    /** One {@link ImageScaleProbe} run on {@code tree}, as a row. */
    private void probe(Path tree, int files, int images, Path indexDir) throws Exception {
        String loadBefore = loadAverage();
        Map<String, String> probe = ImageScaleProbe.run(tree, indexDir);
        double build = Double.parseDouble(probe.get("build_s"));
        String row = String.format(Locale.ROOT, "| images: sample index of %,d files (hard links to the %d JPEGs, %,d "
                        + "class folders; page cache warm; own JVM, -Xmx2g, heap not pre-touched; load %s → %s) | built in "
                        + "%.1f s (%.0f files/s; 1.28 M ≈ %.0f s), read from its cache in %s s; %s batches of %d read with "
                        + "rrc+flip: heap after GC %s MB (committed %s MB), RSS %s MB, 3 s later %s MB (peak %s MB) (digest %s) |",
                files, images, Math.min(files, 1000), loadBefore, loadAverage(), build, files / build,
                1_281_167 / (files / build), probe.get("cached_s"), probe.get("batches"), BATCH, probe.get("heap_mb"),
                probe.get("committed_mb"), probe.get("rss_mb"), probe.get("rss_settled_mb"), probe.get("hwm_mb"), probe.get("digest"));
        rows.add(row);
        System.out.println(row);
    }
}
