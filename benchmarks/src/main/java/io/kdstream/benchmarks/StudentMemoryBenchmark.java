package io.kdstream.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.kdstream.benchmarks.feed.MemoryFeed;
import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.model.Architecture;
import io.kdstream.student.LrSchedule;
import io.kdstream.student.StudentConfig;
import io.kdstream.student.StudentListener;
import io.kdstream.student.StudentTrainer;

/**
 * Resident memory over a long run of student steps (VkD projection, AdamW, logit KD), printed every
 * 1,000 steps: the figure behind "native memory stays flat" in docs/benchmarks.md. The product's
 * trainer runs fed from memory ({@link MemoryFeed}: 100 batches, replayed as often as the steps
 * need, so steps round up to a multiple of 100; no Kafka, no evaluation, one checkpoint at the end).
 *
 * <pre>java -cp ... io.kdstream.benchmarks.StudentMemoryBenchmark [steps=10000] [arch=mlp] [batch=64]</pre>
 */
public final class StudentMemoryBenchmark {

    private static final int BATCHES = 100;

    private StudentMemoryBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        String arch = args.length > 1 ? args[1] : "mlp";
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        RunSpec run = SyntheticBatches.spec("mem", batch, 256, BATCHES);
        List<FeatureBatch> data = SyntheticBatches.batches(run);
        StudentConfig cfg = StudentConfig.builder().optArch(Architecture.parse(arch)).optGamma(1.0).optLr(1e-3)
                .optWeightDecay(1e-4).optSchedule(LrSchedule.Kind.CONSTANT).optWarmupSteps(0)
                .optReplayEpochs((steps + BATCHES - 1) / BATCHES - 1).optSeed(3L).build();
        Path checkpoints = Files.createTempDirectory("kdstream-memory-bench-");
        long t0 = System.nanoTime();
        System.out.printf("step rss_mib ms_per_step%n");
        long[] last = {System.nanoTime()};
        StudentTrainer trainer = StudentTrainer.builder().setRun(run).setGroup("memory")
                .setCheckpointDir(checkpoints)
                .setInputNormalization(SyntheticBatches.inputNormalization())
                .optConfig(cfg).optCheckpointEvery(Integer.MAX_VALUE)
                .optFeed((offsets, pass) -> new MemoryFeed(data, offsets, pass))
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        long s = e.step();
                        if (s % 1000 == 0 || s == 1) {
                            long now = System.nanoTime();
                            System.out.printf("%d %d %.2f%n", s, rssKiB() / 1024,
                                    (now - last[0]) / 1e6 / (s == 1 ? 1 : 1000));
                            last[0] = now;
                        }
                    }
                }).build();
        trainer.run();
        System.out.printf("total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    /** Resident set size of this JVM in KiB (-1 where /proc is missing). */
    public static long rssKiB() {
        return statusKiB("VmRSS:");
    }

    /** A KiB field of /proc/self/status ({@code "VmRSS:"}, {@code "VmHWM:"}, ...), -1 where /proc is missing. */
    public static long statusKiB(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return -1;
    }
}
