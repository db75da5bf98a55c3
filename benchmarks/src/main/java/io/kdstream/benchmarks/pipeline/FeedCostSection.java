package io.kdstream.benchmarks.pipeline;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.kdstream.benchmarks.feed.MemoryFeed;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;

/**
 * Feed cost: the product's trainer, same student, same batches, same steps, fed from memory
 * ({@link MemoryFeed}) and from {@code <run>.features}, in back-to-back pairs whose order alternates.
 * The trainer's thread has core 1 to itself; the broker, the fetch thread and the rest share core 0.
 */
final class FeedCostSection extends PipelineSection {

    FeedCostSection(Bench bench) {
        super(bench);
    }

    void run(RunSpec run, List<FeatureBatch> data, String arch, int replayEpochs) throws Exception {
        int reps = quick ? 1 : 5;
        int warmup = Math.min(20, data.size() / 3);
        double[] memory = new double[reps];
        double[] kafka = new double[reps];
        double[] ratio = new double[reps];
        double[] gc = new double[2]; // memory-fed, Kafka-fed: GC seconds summed over the runs
        Map<String, Double> memoryPhases = null;
        Map<String, Double> kafkaPhases = null;
        for (int rep = 0; rep < reps; rep++) { // interleaved, and which goes first alternates
            boolean memoryFirst = rep % 2 == 0;
            Fed fromKafka = null;
            if (!memoryFirst) {
                fromKafka = train(run, config(arch, replayEpochs), warmup, "feed-" + arch + "-" + rep, null, true);
            }
            Fed fromMemory = train(run, config(arch, replayEpochs), warmup, "memory-" + arch + "-" + rep,
                    (offsets, pass) -> new MemoryFeed(data, offsets, pass), true);
            if (memoryFirst) {
                fromKafka = train(run, config(arch, replayEpochs), warmup, "feed-" + arch + "-" + rep, null, true);
            }
            memory[rep] = fromMemory.samplesPerSecond();
            kafka[rep] = fromKafka.samplesPerSecond();
            gc[0] += fromMemory.gcSeconds();
            gc[1] += fromKafka.gcSeconds();
            if (rep == reps / 2) { // phases of one pair, the middle one
                memoryPhases = fromMemory.phaseMillis();
                kafkaPhases = fromKafka.phaseMillis();
            }
            ratio[rep] = kafka[rep] / memory[rep];
        }
        double m = median(memory);
        double k = median(kafka);
        // the median of back-to-back pairs: load that drifts across the run cancels within a pair
        double r = median(ratio);
        rows.add(String.format("| feed `%s` student, %d steps: memory-fed | %.0f samples/s (runs %s) |", arch,
                data.size() * (1 + replayEpochs), m, Arrays.toString(round(memory))));
        rows.add(String.format("| feed `%s` student: Kafka-fed (prefetch 4), trainer thread alone on core 1 | %.0f samples/s (runs %s); pairs %s: median **%.3f×** memory-fed (target ≥ 0.95×) |",
                arch, k, Arrays.toString(round(kafka)), round2(ratio), r));
        rows.add(String.format("| feed `%s` student: JVM GC time per run, memory-fed vs Kafka-fed | %.2f s vs %.2f s |",
                arch, gc[0] / reps, gc[1] / reps));
        rows.add(String.format("| feed `%s` student: mean ms per step by phase, memory-fed vs Kafka-fed | %s vs %s |",
                arch, memoryPhases, kafkaPhases));
        plot.feed(arch, m, k);
    }
}
