package io.kdstream.benchmarks.pipeline;

import java.util.ArrayList;
import java.util.List;

import static io.kdstream.benchmarks.StudentMemoryBenchmark.rssKiB;

import io.kdstream.manifest.RunSpec;
import io.kdstream.student.StudentListener;
import io.kdstream.student.StudentTrainer;

/** Memory over many Kafka-fed steps of an {@code mlp} student: RSS every 1,000 steps, growth from the warm state. */
final class MemorySection extends PipelineSection {

    MemorySection(Bench bench) {
        super(bench);
    }

    void run(RunSpec run, int steps) throws Exception {
        int replay = (steps + run.batchesPerEpoch() - 1) / run.batchesPerEpoch() - 1;
        List<long[]> samples = new ArrayList<>(); // step, rss KiB, heap used bytes, heap committed bytes
        StudentTrainer trainer = StudentTrainer.builder().setClients(clients).setRun(run).setGroup("memory")
                .setCheckpointDir(work.resolve("ckpt-memory")).setInputNormalization(normalization())
                .optConfig(config("mlp", replay)).optCheckpointEvery(1_000).optPrefetch(4)
                .addListener(new StudentListener() {
                    @Override
                    public void onStep(StepEvent e) {
                        if (e.step() % 1000 == 0) {
                            Runtime rt = Runtime.getRuntime();
                            samples.add(new long[] {e.step(), rssKiB(), rt.totalMemory() - rt.freeMemory(), rt.totalMemory()});
                        }
                    }
                }).build();
        StudentTrainer.Result r = trainer.run();
        StringBuilder trace = new StringBuilder();
        samples.forEach(s -> trace.append(String.format("%d: %d MiB (heap committed %d); ", s[0], s[1] / 1024,
                s[3] >> 20)));
        long[] warm = samples.get(Math.min(1, samples.size() - 1));
        long[] last = samples.get(samples.size() - 1);
        double growth = 100.0 * (last[1] - warm[1]) / warm[1];
        rows.add(String.format("| memory: `mlp` student, %d Kafka-fed steps (%d passes of %d batches, checkpoint every 1,000) | RSS %d → %d MiB from step %d: **%+.1f%%** (target < 5%%); heap at the end %d MiB |",
                r.steps(), replay + 1, run.batchesPerEpoch(), warm[1] / 1024, last[1] / 1024, warm[0], growth,
                last[2] / (1024 * 1024)));
        rows.add("| memory: RSS per 1,000 steps | " + trace.toString().trim() + " |");
    }
}
