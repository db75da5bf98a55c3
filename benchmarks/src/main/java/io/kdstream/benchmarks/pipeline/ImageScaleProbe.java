package io.kdstream.benchmarks.pipeline;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.kdstream.benchmarks.StudentMemoryBenchmark;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.ImageFolderReader;
import io.kdstream.data.ImageSize;
import io.kdstream.data.SampleIndex;
import io.kdstream.data.Split;

/**
 * What a lazily read image folder costs a fresh process (issue 37's RSS row): builds the sample
 * index of {@code TREE} (timed), reads it again from its cache (timed), reads {@value #BATCHES}
 * (at most) rrc+flip batches at 224×224, then reports heap after GC, RSS and peak RSS. Run by
 * {@link ImageDataSection} in a JVM of its own without a pre-touched heap, one per dataset size, so
 * that RSS at 10,000 and at 100,000 files compare like for like.
 *
 * <pre>java -Xmx2g -Dkdstream.index.dir=DIR -cp ... io.kdstream.benchmarks.pipeline.ImageScaleProbe TREE</pre>
 */
public final class ImageScaleProbe {
    static final int BATCHES = 20;
    private static final long SETTLE_MILLIS = 3_000;

    private ImageScaleProbe() {
    }

    public static void main(String[] args) throws IOException {
        Path tree = Path.of(args[0]);
        long t0 = System.nanoTime();
        SampleIndex index = SampleIndex.of(tree);
        double build = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        SampleIndex.of(tree);
        double cached = (System.nanoTime() - t0) / 1e9;
        ImageDataset ds = ImageFolderReader.read(tree, "links", Split.TRAIN, new ImageSize(224, 224));
        BatchSource src = new BatchSource(ds, 1, 128, AugmentPolicy.parse("rrc+flip"));
        int batches = Math.min(BATCHES, src.batchesPerEpoch());
        for (int b = 0; b < batches; b++) {
            src.batch(0, b);
        }
        System.gc();
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        long rss = statusMb("VmRSS:");
        // G1 gives back the regions a collection freed on a background task, after the collection
        try {
            Thread.sleep(SETTLE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.out.printf(Locale.ROOT, "build_s=%.2f cached_s=%.2f batches=%d heap_mb=%d committed_mb=%d rss_mb=%d "
                        + "rss_settled_mb=%d hwm_mb=%d digest=%s%n", build, cached, batches, heap.getUsed() >> 20,
                heap.getCommitted() >> 20, rss, statusMb("VmRSS:"), statusMb("VmHWM:"), index.digest());
    }

    /** Runs the probe on {@code tree} in a child JVM (this one's class path, -Xmx2g, no pre-touch); its key=value pairs. */
    static Map<String, String> run(Path tree, Path indexDir) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dkdstream.index.dir=" + indexDir, "-cp", System.getProperty("java.class.path"),
                ImageScaleProbe.class.getName(), tree.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("ImageScaleProbe " + tree + " failed: " + out);
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String pair : out.lines().reduce((a, b) -> b).orElse("").split(" ")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                kv.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return kv;
    }

    private static long statusMb(String key) {
        return StudentMemoryBenchmark.statusKiB(key) >> 10;
    }
}
