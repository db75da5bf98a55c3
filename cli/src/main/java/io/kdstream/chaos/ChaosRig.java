package io.kdstream.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.process.ChildProcess;

/**
 * What every scenario of {@code kdstream chaos} shares: the work directory, the kdstream jar every
 * process runs, the seeded kill points, the Kafka the clients talk to now, how a teacher and a
 * student are started, the deadlines and the table rows.
 */
final class ChaosRig {

    static final int BATCH = 50;
    static final int TRAIN_LIMIT = 2000; // 40 batches per epoch
    static final int PER_EPOCH = TRAIN_LIMIT / BATCH;
    static final int CHECKPOINT_EVERY = 5;
    /**
     * The teacher's flow-control bound (--max-lead-batches) in the scenarios whose faults a
     * {@link KillSchedule} places: at most this many batches ahead of the student, so both are in
     * flight at every fault, and the student cannot race through a backlog while a broker restarts
     * (the run moves at the teacher's pace, which slows with the machine as a restart does).
     */
    static final int MAX_LEAD = 16;
    /** Longest wait for progress after a (re)start or fault. */
    static final Duration DEADLINE = Duration.ofMinutes(5);
    /** Longest wait for a process to finish its run (a student's final evaluation is slow on a busy machine). */
    static final Duration RUN_DEADLINE = Duration.ofMinutes(20);
    /** When the command started: every {@link #log} line says the seconds since, what each phase and fault cost. */
    private static final long T0 = System.nanoTime();

    final Path work;
    final long seed;
    final Random random;
    final ExactlyOnceAudit audit;
    private final Path jar;
    private final int sessionTimeoutMs;
    private final String command;
    private final List<String> rows = new ArrayList<>();
    private Supplier<String> kafka;

    ChaosRig(Path work, Path jar, long seed, int sessionTimeoutMs, String command) {
        this.work = work;
        this.jar = jar;
        this.seed = seed;
        this.random = new Random(seed);
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.command = command;
        this.audit = new ExactlyOnceAudit(this::bootstrap);
    }

    /** The Kafka that teachers, students and the audit use from now on. */
    void useKafka(Supplier<String> bootstrap) {
        this.kafka = bootstrap;
    }

    String bootstrap() {
        return kafka.get();
    }

    Path log(String name) {
        return work.resolve("logs").resolve(name + ".log");
    }

    /** {@code kdstream <args>} from the jar, stdout and stderr appended to {@code logs/<name>.log}. */
    ChildProcess launch(String name, List<String> args) throws IOException {
        Path log = log(name);
        Files.createDirectories(log.getParent());
        return ChildProcess.start(name, KdstreamJvm.kdstream(args).optJar(jar)
                .optSingleTorchThread().optHeap("512m").optLog(log).build());
    }

    /** An untrained CNN teacher (the faults, not the accuracy, are under test), saved once. */
    Path teacherModel() throws IOException {
        Path dir = work.resolve("teacher");
        if (!Files.exists(dir.resolve(DjlFeatureModel.PARAMS_FILE))) {
            DatasetRef data = new DatasetRef("fashion-mnist", 1.0, TRAIN_LIMIT, 1);
            try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "fashion-mnist",
                    InputNormalization.forDataset(data.train()))) {
                m.save(dir);
            }
        }
        return dir;
    }

    /** A teacher-producer publishing {@code run} ({@code epochs} of 40 batches, work items of 4). */
    ChildProcess teacher(String run, Path model, int epochs, List<String> extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("teacher", "--run", run, "--bootstrap-servers", bootstrap(),
                "--teacher", model.toString(), "--train-limit", "" + TRAIN_LIMIT, "--epochs", "" + epochs,
                "--batch-size", "" + BATCH, "--batches-per-item", "4", "--progress-interval", "0",
                "--instance-id", "chaos-teacher", "--transaction-timeout", "PT30S"));
        if (sessionTimeoutMs > 0) {
            Path props = work.resolve("teacher-client.properties");
            Files.writeString(props, "session.timeout.ms=" + sessionTimeoutMs + "\nheartbeat.interval.ms="
                    + Math.max(500, sessionTimeoutMs / 3) + "\n");
            args.addAll(List.of("--kafka-config", props.toString()));
        }
        args.addAll(extra);
        return launch("teacher-" + run, args);
    }

    /** A student-trainer of {@code run} in consumer group {@code group}, tracing its steps to {@code trace}. */
    ChildProcess student(String run, String group, Path dir, Path trace) throws IOException {
        return launch("student-" + group, List.of("student", "--run", run, "--group", group, "--bootstrap-servers",
                bootstrap(), "--checkpoint-dir", dir.toString(), "--checkpoint-every", "" + CHECKPOINT_EVERY,
                "--progress-interval", "0", "--idle-timeout", "PT5M", "--trace", trace.toString()));
    }

    /** Waits for {@code p} to finish its run: true if it exited 0; killed after {@link #RUN_DEADLINE}. */
    boolean awaitExit(ChildProcess p, String what) throws InterruptedException {
        if (!p.waitFor(RUN_DEADLINE)) {
            log("%s did not finish within %s: killed", what, RUN_DEADLINE);
            p.kill();
            return false;
        }
        if (p.exitValue() != 0) {
            log("%s exited %d (see %s)", what, p.exitValue(), work.resolve("logs"));
        }
        return p.exitValue() == 0;
    }

    /** Prints and keeps one row of the table in docs/reliability.md. */
    void row(String fault, int injections, int lost, int dup, int crashes) {
        String r = "| " + fault + " | " + injections + " | " + lost + " | " + dup + " | " + crashes + " | `" + command
                + "` |";
        rows.add(r);
        System.out.println(r);
    }

    List<String> rows() {
        return List.copyOf(rows);
    }

    static boolean waitFor(BooleanSupplier cond, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return cond.getAsBoolean();
    }

    static void log(String fmt, Object... args) {
        System.out.printf("[chaos %6.1f s] %s%n", (System.nanoTime() - T0) / 1e9, String.format(fmt, args));
        System.out.flush();
    }

    /** The lines of a log file written by another process; empty if it does not exist (yet). */
    static List<String> utf8Lines(Path f) {
        try {
            return Files.exists(f) ? new String(Files.readAllBytes(f), StandardCharsets.UTF_8).lines().toList() : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
