package io.kdstream.benchmarks.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kdstream.kafka.RunTopics;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.progress.ProgressEvent;
import io.kdstream.teacher.TeacherCommand;

/**
 * kdstream's teacher against PyTorch, the peer a user would otherwise run (issue 25). The teacher is
 * the zoo's ResNet-style architecture (d_t = 256) scripted by PyTorch. The peer is Debian's PyTorch
 * running that TorchScript file forward-only over the same Fashion-MNIST images, with one thread, on
 * jemalloc with decay off. kdstream is {@code kdstream teacher --teacher teacher.pt} publishing one
 * epoch (flip, layer norm, logits), timed as a whole process from launch to exit. Both run on core 0.
 * This JVM (the embedded broker) stays on core 1. The same teacher runs on the product's default
 * allocator and on jemalloc. Runs are interleaved, and each figure is the median of its repetitions.
 * Then two teachers, one per core, against one teacher.
 */
final class PyTorchPeerSection extends PipelineSection {

    private static final Path PYTHON = Path.of("/usr/bin/python3"); // Debian's, where python3-torch installs
    private static final Path IMAGES = Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A teacher process's figures: images/s from launch to exit, of its forward alone and of its
     * publishing (first to last record); seconds from launch to the first record and from the last
     * record to exit.
     */
    private record TeacherRun(double wholeProcess, double forwardAlone, double publishing, double beforeFirst,
                              double afterLast) {
    }

    PyTorchPeerSection(Bench bench) {
        super(bench);
    }

    /** One epoch of {@code images} training images (60,000: the whole of Fashion-MNIST's train split). */
    void run(int images) throws Exception {
        String missing = missingPrerequisite();
        if (missing != null) {
            rows.add("| PyTorch peer | skipped: " + missing + " |");
            return;
        }
        Path teacher = work.resolve("resnet-teacher.pt");
        python(List.of(root().resolve("benchmarks/python/resnet_teacher.py").toString(), teacher.toString()),
                Map.of(), null);
        Path jemalloc = jemalloc();
        Map<String, String> onJemalloc = jemalloc == null ? Map.of()
                : Map.of("LD_PRELOAD", jemalloc.toString(), "MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1");
        int reps = quick ? 1 : 3;
        double[] peer = new double[reps];
        TeacherRun[] product = new TeacherRun[reps];
        TeacherRun[] productJemalloc = new TeacherRun[reps];
        pin("1");
        try {
            for (int i = 0; i < reps; i++) {
                peer[i] = peerForward(teacher, images, onJemalloc);
                product[i] = teacher(teacher, images, "0", Map.of(), "peer-glibc-" + i);
                productJemalloc[i] = teacher(teacher, images, "0", onJemalloc, "peer-jemalloc-" + i);
            }
        } finally {
            pin("0,1");
        }
        double p = median(peer);
        String alloc = jemalloc == null ? "glibc (libjemalloc2 missing)" : "jemalloc, decay off";
        rows.add(String.format("| PyTorch peer, %d images, batch %d, ResNet teacher as TorchScript: PyTorch %s forward alone, one thread, core 0, %s | %.0f images/s (runs %s) |",
                images, BATCH, torchVersion(), alloc, p, java.util.Arrays.toString(round(peer))));
        Map<String, TeacherRun[]> byAllocator = new LinkedHashMap<>();
        byAllocator.put("this JVM's allocator (KDSTREAM_ALLOCATOR; default: tuned glibc)", product);
        byAllocator.put(alloc, productJemalloc);
        for (var e : byAllocator.entrySet()) {
            TeacherRun[] runs = e.getValue();
            double whole = median(runs, TeacherRun::wholeProcess);
            double forward = median(runs, TeacherRun::forwardAlone);
            double publishing = median(runs, TeacherRun::publishing);
            rows.add(String.format("| PyTorch peer: `kdstream teacher --teacher teacher.pt`, whole process for the epoch (flip, layer norm, logits, Kafka), core 0, %s | %.0f images/s = **%.2f×** PyTorch's forward alone (target ≥ 0.8×); publishing %.0f images/s = **%.2f×** its own forward alone in the same JVM (%.0f images/s; target ≥ 0.9×); %.1f s from launch to the first record, %.1f s from the last to exit |",
                    e.getKey(), whole, whole / p, publishing, publishing / forward, forward,
                    median(runs, TeacherRun::beforeFirst), median(runs, TeacherRun::afterLast)));
        }
        twoTeachers(teacher, images, median(product, TeacherRun::wholeProcess));
    }

    /** Two teacher processes, one per core, publishing a run each, against one teacher on one core. */
    private void twoTeachers(Path teacher, int images, double oneTeacher) throws Exception {
        long t0 = System.nanoTime();
        List<Process> both = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (String core : List.of("0", "1")) {
            Path log = work.resolve("two-teachers-" + core + ".log");
            logs.add(log);
            both.add(teacherJvm(teacher, images, core, Map.of(), "two-" + core + "-" + UUID.randomUUID(), log).start());
        }
        for (int i = 0; i < both.size(); i++) {
            awaitSuccess(both.get(i), logs.get(i));
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        double together = 2.0 * images / wall;
        rows.add(String.format("| two teachers, one pinned to each core (broker unpinned), a run each | %.0f images/s together = **%.2f×** one teacher on one core (%.0f images/s; target ≥ 1.8×) |",
                together, together / oneTeacher, oneTeacher));
    }

    private double peerForward(Path teacher, int images, Map<String, String> env) throws Exception {
        JsonNode r = JSON.readTree(python(List.of(root().resolve("benchmarks/python/forward_only.py").toString(),
                teacher.toString(), IMAGES.toString(), Integer.toString(BATCH), Integer.toString(images)), env, "0"));
        return r.get("images_per_second").asDouble();
    }

    private TeacherRun teacher(Path teacher, int images, String core, Map<String, String> env, String tag)
            throws Exception {
        String run = tag + "-" + UUID.randomUUID().toString().substring(0, 8);
        Path log = work.resolve("teacher-" + run + ".log");
        long launchedMs = System.currentTimeMillis();
        long t0 = System.nanoTime();
        Process p = teacherJvm(teacher, images, core, env, run, log).start();
        awaitSuccess(p, log);
        double wall = (System.nanoTime() - t0) / 1e9;
        long exitedMs = launchedMs + Math.round(wall * 1e3);
        ProgressEvent.TeacherProgress result = Files.readAllLines(log).stream()
                .map(l -> ProgressEvent.parse(l, ProgressEvent.TeacherProgress.class))
                .flatMap(java.util.Optional::stream).reduce((a, b) -> b)
                .orElseThrow(() -> new IllegalStateException("no result line in " + log));
        int batches = (int) result.batches();
        long[] span = recordTimeSpan(new RunTopics(run).features(), batches);
        double publishSeconds = (span[1] - span[0]) / 1e3 * batches / (batches - 1.0);
        return new TeacherRun(images / wall, result.samples() / result.forwardSeconds(), images / publishSeconds,
                (span[0] - launchedMs) / 1e3, (exitedMs - span[1]) / 1e3);
    }

    private KdstreamJvm teacherJvm(Path teacher, int images, String core, Map<String, String> env, String run,
                                   Path log) {
        KdstreamJvm.Builder jvm = KdstreamJvm.mainClass(TeacherCommand.class, "--run", run,
                        "--bootstrap-servers", bootstrap, "--teacher", teacher.toString(), "--train-limit",
                        Integer.toString(images), "--epochs", "1", "--batch-size", Integer.toString(BATCH),
                        "--logits", "--augment", "flip", "--norm", "layer", "--progress-interval", "0",
                        "--device", "cpu")
                .optCpus(core).optSingleTorchThread().optHeap("1g").optLog(log);
        env.forEach(jvm::optEnv);
        return jvm.build();
    }

    private static void awaitSuccess(Process p, Path log) throws Exception {
        if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("teacher failed; see " + log + ":\n" + Files.readString(log));
        }
    }

    /** Runs Debian's python3 on {@code args} (pinned to {@code cpus} unless null); returns its last stdout line. */
    private String python(List<String> args, Map<String, String> env, String cpus) throws Exception {
        List<String> cmd = new ArrayList<>();
        if (cpus != null) {
            cmd.addAll(List.of("taskset", "-c", cpus));
        }
        cmd.add(PYTHON.toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed with exit code " + p.exitValue());
        }
        String[] lines = out.split("\n");
        return lines[lines.length - 1];
    }

    private String torchVersion() throws Exception {
        return python(List.of("-c", "import torch; print(torch.__version__)"), Map.of(), null);
    }

    /** Why the peer cannot run here, or null. */
    private static String missingPrerequisite() throws InterruptedException {
        if (!Files.isRegularFile(IMAGES)) {
            return IMAGES + " is missing (bin/setup demo installs dataset-fashion-mnist)";
        }
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0 ? null : "Debian's python3-torch is not installed (apt-get install python3-torch)";
        } catch (IOException e) {
            return PYTHON + " is missing (apt-get install python3-torch)";
        }
    }

    /** libjemalloc.so.2 where bin/allocator.sh looks for it, or null. */
    private static Path jemalloc() {
        String named = System.getenv("KDSTREAM_JEMALLOC");
        List<String> candidates = named != null ? List.of(named) : List.of("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2", "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2");
        return candidates.stream().map(Path::of).filter(Files::isRegularFile).findFirst().orElse(null);
    }

    /** The checkout: pipeline.sh runs from it. */
    private static Path root() {
        return Path.of("").toAbsolutePath();
    }

    private static double median(TeacherRun[] runs, java.util.function.ToDoubleFunction<TeacherRun> f) {
        return median(java.util.Arrays.stream(runs).mapToDouble(f).toArray());
    }
}
