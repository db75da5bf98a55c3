package io.kdstream.benchmarks.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.kdstream.benchmarks.feed.MemoryFeed;
import io.kdstream.benchmarks.feed.OnlineTeacherFeed;
import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.kafka.RunTopics;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.FeatureModels;
import io.kdstream.student.BatchFeed;
import io.kdstream.teacher.TeacherCommand;

/**
 * Teacher cost hidden and replay amortization: student alone, online KD and streamed KD with a real
 * teacher-producer JVM; then K students from one teacher pass against K online-KD runs.
 */
final class TeacherCostSection extends PipelineSection {

    TeacherCostSection(Bench bench) {
        super(bench);
    }

    /**
     * The demo's teacher architecture (ResNet-style, d_t = 256; untrained: only speed matters here)
     * and `cnn` student: student alone, online KD (teacher forward on the trainer's thread before
     * every step) and streamed KD (a teacher-producer JVM pinned to core 0, this JVM to core 1),
     * once concurrently with the teacher and once replaying the finished pass.
     */
    void run(int batches) throws Exception {
        // Every student run of this row gets the same hardware, core 1; the streamed teacher runs on
        // core 0, as teachers run on their own hardware. (Unpinned, the student-alone baseline got
        // the fetch thread a core of its own that the streamed student did not.)
        pin("1");
        try {
            teacherCostOnCore1(batches);
        } finally {
            pin("0,1");
        }
    }

    private void teacherCostOnCore1(int batches) throws Exception {
        Path teacherDir = work.resolve("teacher");
        try (DjlFeatureModel t = DjlFeatureModel.create(Architecture.RESNET, 1, 28, 28, 10, "fashion-mnist",
                normalization())) {
            t.save(teacherDir);
        }
        RunSpec synth = spec("online-" + UUID.randomUUID().toString().substring(0, 8), batches);
        List<FeatureBatch> data = SyntheticBatches.batches(synth);
        int warmup = 5;
        BatchFeed.Opener memory = (o, p) -> new MemoryFeed(data, o, p);
        double online;
        double teacherSecondsOnline;
        try (FeatureModel teacher = FeatureModels.load(teacherDir)) {
            OnlineTeacherFeed feed = new OnlineTeacherFeed(teacher, normalization(), data);
            online = train(synth, config("cnn", 0), warmup, "online", (o, p) -> feed).samplesPerSecond();
            teacherSecondsOnline = feed.teacherNanos() / 1e9;
        }

        String run = "streamed-" + UUID.randomUUID().toString().substring(0, 8);
        Path log = work.resolve("teacher-" + run + ".log");
        KdstreamJvm teacherJvm = KdstreamJvm.mainClass(TeacherCommand.class, "--run", run,
                        "--bootstrap-servers", bootstrap, "--teacher", teacherDir.toString(), "--train-limit",
                        Integer.toString(batches * BATCH), "--epochs", "1", "--batch-size", Integer.toString(BATCH),
                        "--logits", "--augment", "flip", "--progress-interval", "0")
                .optCpus("0").optSystemProperty("ai.djl.pytorch.num_threads", "1").optHeap("1g").optLog(log).build();
        Fed concurrent;
        double alone;
        double replay;
        double[] aheadRatio = new double[quick ? 1 : 3];
        double startSeconds;
        double publishSeconds;
        double firstStudentWall; // teacher pass and the student that trains alongside it, start to both done
        double teacherWall;
        List<String> amortized;
        long t0 = System.nanoTime();
        Process teacher = teacherJvm.start();
        try {
            CompletableFuture<Long> exited = teacher.onExit().thenApply(p -> System.nanoTime());
            RunSpec spec = awaitManifest(run, teacher, log);
            // started together: the student's clock runs from its first step, waits for the teacher included
            concurrent = train(spec, config("cnn", 0), 1, "streamed", null);
            long studentDone = System.nanoTime();
            if (!teacher.waitFor(10, TimeUnit.MINUTES) || teacher.exitValue() != 0) {
                throw new IllegalStateException("teacher failed; see " + log + ":\n" + Files.readString(log));
            }
            long teacherDone = exited.get();
            teacherWall = (teacherDone - t0) / 1e9;
            firstStudentWall = (Math.max(studentDone, teacherDone) - t0) / 1e9;
            long[] span = recordTimeSpan(new RunTopics(run).features(), batches);
            publishSeconds = (span[1] - span[0]) / 1e3 * batches / (batches - 1.0); // first to last send, per batch
            startSeconds = (span[0] - (System.currentTimeMillis() - (System.nanoTime() - t0) / 1_000_000)) / 1e3;
            // student alone vs streamed with the teacher done: back-to-back pairs, median ratio
            double[] aloneRuns = new double[aheadRatio.length];
            double[] replayRuns = new double[aheadRatio.length];
            for (int i = 0; i < aheadRatio.length; i++) {
                aloneRuns[i] = train(synth, config("cnn", 0, 0, 0), warmup, "alone-" + i, memory).samplesPerSecond();
                replayRuns[i] = train(spec, config("cnn", 0), warmup, "streamed-replay-" + i, null).samplesPerSecond();
                aheadRatio[i] = aloneRuns[i] / replayRuns[i];
            }
            alone = median(aloneRuns);
            replay = median(replayRuns);
            amortized = amortization(spec, teacherDir, data, warmup, firstStudentWall, teacherWall);
        } finally {
            teacher.destroyForcibly();
        }
        double epoch = batches * BATCH;
        double teacherRate = epoch / publishSeconds;
        rows.add(String.format("| teacher cost, %d batches of %d, ResNet teacher, `cnn` student: student alone | %.0f images/s, epoch %.1f s |",
                batches, BATCH, alone, epoch / alone));
        rows.add(String.format("| teacher cost: online KD (teacher forward every step, one process) | %.0f images/s, epoch %.1f s (teacher %.1f s of it) |",
                online, epoch / online, teacherSecondsOnline));
        rows.add(String.format("| teacher cost: streamed teacher pass, own JVM pinned to core 0 | %.0f images/s, %.1f s from first to last batch (+ %.1f s JVM start, model and data load) |",
                teacherRate, publishSeconds, startSeconds));
        rows.add(String.format("| teacher cost: streamed KD, student on core 1 started with the teacher | %.0f images/s, epoch %.1f s = %.2f× alone (bound by the teacher) |",
                concurrent.samplesPerSecond(), epoch / concurrent.samplesPerSecond(), alone / concurrent.samplesPerSecond()));
        rows.add(String.format("| teacher cost: streamed KD, teacher ahead (replaying the finished pass) | %.0f images/s, epoch %.1f s; epoch time vs alone in back-to-back pairs %s: median **%.2f×** (target ≤ 1.05×); **%.1f×** faster than online KD |",
                replay, epoch / replay, round2(aheadRatio), median(aheadRatio), replay / online));
        rows.add(String.format("| teacher cost: lead the teacher needs so the student never waits | %.0f%% of the epoch (1 − teacher rate / student rate, with one teacher) |",
                100 * Math.max(0, 1 - teacherRate / replay)));
        rows.addAll(amortized);
        plot.epoch("alone", epoch / alone);
        plot.epoch("online KD", epoch / online);
        plot.epoch("streamed, live", epoch / concurrent.samplesPerSecond());
        plot.epoch("streamed, ahead", epoch / replay);
    }

    /**
     * Replay amortization, measured: K students from the one teacher pass just made (the first
     * trained alongside the teacher, the others replaying the retained topic one after another)
     * against K online-KD runs, interleaved run by run so that load from elsewhere hits both alike.
     * Wall times are whole trainer runs (set-up, every step, final evaluation), as a user pays them.
     */
    private List<String> amortization(RunSpec spec, Path teacherDir, List<FeatureBatch> data, int warmup,
                                      double firstStudentWall, double teacherWall) throws Exception {
        List<String> out = new ArrayList<>();
        int maxK = quick ? 2 : 8;
        double[] onlineWall = new double[maxK];
        double[] onlineTeacher = new double[maxK];
        double[] streamedWall = new double[maxK];
        streamedWall[0] = firstStudentWall;
        try (FeatureModel teacher = FeatureModels.load(teacherDir)) {
            for (int i = 0; i < maxK; i++) {
                OnlineTeacherFeed feed = new OnlineTeacherFeed(teacher, normalization(), data);
                long t0 = System.nanoTime();
                train(spec, config("cnn", 0), warmup, "online-k" + i, (o, p) -> feed);
                onlineWall[i] = (System.nanoTime() - t0) / 1e9;
                onlineTeacher[i] = feed.teacherNanos() / 1e9;
                if (i > 0) {
                    t0 = System.nanoTime();
                    train(spec, config("cnn", 0), warmup, "replay-k" + i, null);
                    streamedWall[i] = (System.nanoTime() - t0) / 1e9;
                }
            }
        }
        double on = 0;
        double onTeacher = 0;
        double st = 0;
        for (int i = 0; i < maxK; i++) {
            on += onlineWall[i];
            onTeacher += onlineTeacher[i];
            st += streamedWall[i];
            int k = i + 1;
            plot.amortization(k, on, st);
            if (Integer.bitCount(k) == 1) { // K = 1, 2, 4, 8
                out.add(String.format("| replay amortization, K = %d students (measured: K online-KD runs vs one teacher pass + K students) | online KD: %.0f s wall, %.0f teacher-s; streamed: %.0f s wall, %.0f teacher-s (teacher JVM start to exit) = **%.2f×** the wall of online |",
                        k, on, onTeacher, st, teacherWall, st / on));
            }
        }
        return out;
    }
}
