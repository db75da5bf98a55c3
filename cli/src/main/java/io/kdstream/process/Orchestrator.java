package io.kdstream.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import io.kdstream.experiment.StudentState;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.model.ModelCard;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/**
 * The processes of a local experiment, shared by {@code demo} and {@code study}: the embedded
 * broker, the teacher (trained once and cached), teacher-producers and a pool of students, each
 * its own JVM. Stops every child on {@link #close} and on JVM shutdown (Ctrl-C).
 */
public final class Orchestrator implements AutoCloseable {

    private final String tag;
    private final List<ChildProcess> children = new CopyOnWriteArrayList<>();
    private final Thread hook;
    private volatile boolean interrupted;
    /** Phase 1's {@code train-teacher}, while it runs: stopped with the other children. */
    private volatile Process teacherTraining;
    private String device = "auto";

    public Orchestrator(String tag) {
        this.tag = tag;
        this.hook = new Thread(this::stopAll, "kdstream-" + tag + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The {@code --device} every child that runs a model gets: train-teacher, teacher and students. */
    public Orchestrator optDevice(String device) {
        this.device = device;
        return this;
    }

    /** {@code args} plus this orchestrator's {@code --device}. */
    private List<String> onDevice(List<String> args) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--device", device));
        return all;
    }

    /** Starts the broker on {@code dataDir} ({@code clean}: an empty cluster) and returns its bootstrap address. */
    public String startBroker(Path dataDir, boolean clean, Path log) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("broker", "--port", "0", "--data-dir", dataDir.toString()));
        if (clean) {
            args.add("--clean");
        }
        ChildProcess broker = ChildProcess.start("broker", service("384m", args).optErrorLog(log).build(), e -> { });
        children.add(broker);
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (String line : broker.textLines()) {
                if (line.startsWith("bootstrap.servers=")) {
                    String bs = line.substring("bootstrap.servers=".length());
                    say("Kafka broker (own process, pid %d) at %s", broker.pid(), bs);
                    return bs;
                }
            }
            if (!broker.isAlive()) {
                break;
            }
            Thread.sleep(100); // poll for the broker's ready line
        }
        throw new IllegalStateException("the embedded broker did not start: see " + log);
    }

    /**
     * Phase 1 has the machine to itself, but the teacher trains on two threads on every machine, not
     * on every core: libtorch's reductions split by thread count, so the count is part of what fixes
     * the teacher's weights (with --seed), and with them every number of the demo's table.
     */
    static final int PHASE1_THREADS = 2;

    /** The cached teacher in {@code dir}, training it first if missing (quick: a tiny CNN teacher). */
    public Path teacher(Path dir, boolean quick) throws IOException, InterruptedException {
        if (Files.isRegularFile(dir.resolve(ModelCard.FILE_NAME))) {
            say("using the cached teacher in %s", dir);
            return dir;
        }
        List<String> args = quick
                ? List.of("train-teacher", "--arch", "cnn", "--epochs", "1", "--train-limit", "3000",
                        "--test-limit", "2000", "--out", dir.toString())
                : List.of("train-teacher", "--arch", "resnet", "--epochs", "10", "--threads", Integer.toString(PHASE1_THREADS),
                        "--out", dir.toString());
        say("training the teacher (once; cached in %s)", dir);
        // passive OpenMP waits: idle cores run 2 threads at 1.5x one thread, and a busy core costs them
        // ~10% instead of halving them as spinning workers do (docs/benchmarks.md, the teacher's threads)
        Process p = KdstreamJvm.kdstream(onDevice(args)).optHeap("2g").optJvmOption("-XX:+UseSerialGC")
                .optEnv("OMP_WAIT_POLICY", "PASSIVE").optInheritIO().build().start();
        teacherTraining = p;
        int code;
        try {
            code = p.waitFor();
        } finally {
            teacherTraining = null;
        }
        if (code != 0) {
            throw new IllegalStateException("teacher training failed with exit code " + code);
        }
        return dir;
    }

    /**
     * Starts the teacher-producer {@code launch} describes; its progress lines go to {@code progress}.
     * A finished run's producer exits at once.
     */
    public ChildProcess startTeacher(TeacherLaunch launch, Consumer<TeacherProgress> progress) throws IOException {
        ChildProcess producer = ChildProcess.start("teacher-" + launch.run(), service("1g", onDevice(launch.args()))
                .optErrorLog(launch.log()).build(), e -> {
                    if (e instanceof TeacherProgress t) {
                        progress.accept(t);
                    }
                });
        children.add(producer);
        return producer;
    }

    /**
     * Trains {@code students}, {@code parallel} at a time, each as a {@code kdstream student} process
     * with {@code args.apply(student)}; {@code onDone} sees each one that exits. Returns the number
     * that failed (non-zero exit or not every batch trained).
     */
    public int runStudents(List<StudentState> students, Function<StudentState, List<String>> args, Path logDir,
                           int parallel, Consumer<StudentState> onDone) throws IOException, InterruptedException {
        Deque<StudentState> queue = new ArrayDeque<>(students);
        List<Map.Entry<StudentState, ChildProcess>> running = new ArrayList<>();
        int failures = 0;
        while ((!queue.isEmpty() || !running.isEmpty()) && !interrupted) {
            while (running.size() < Math.max(1, parallel) && !queue.isEmpty()) {
                StudentState s = queue.poll();
                List<String> cmd = new ArrayList<>(List.of("student"));
                cmd.addAll(onDevice(args.apply(s)));
                s.started();
                ChildProcess p = ChildProcess.start(s.group(),
                        service("1g", cmd).optErrorLog(logDir.resolve(s.group() + ".log")).build(), s::accept);
                children.add(p);
                running.add(Map.entry(s, p));
            }
            Thread.sleep(200); // poll interval of the process table
            for (var it = running.iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().isAlive()) {
                    StudentState s = e.getKey();
                    s.exited(e.getValue().waitFor());
                    if (!s.succeeded()) {
                        failures++;
                        say("student %s exited %d having trained %d of %d batches: see %s", s.group(), s.exitCode(),
                                s.trained(), s.total(), logDir.resolve(s.group() + ".log"));
                    }
                    children.remove(e.getValue());
                    it.remove();
                    onDone.accept(s);
                }
            }
        }
        return failures;
    }

    public boolean interrupted() {
        return interrupted;
    }

    /** Stops students and teachers first, the broker last, so they can finish their transactions. */
    public void stopAll() {
        interrupted = true;
        // a SIGTERM reaches only this JVM (Ctrl-C reaches the whole process group): without this the
        // teacher's training would go on for minutes after the demo or study it belonged to
        Process training = teacherTraining;
        if (training != null) {
            training.destroy();
            try {
                if (!training.waitFor(15, TimeUnit.SECONDS)) {
                    training.destroyForcibly();
                }
            } catch (InterruptedException e) {
                training.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        List<ChildProcess> all = new ArrayList<>(children);
        all.sort(Comparator.comparing((ChildProcess c) -> c.name().equals("broker")));
        for (ChildProcess c : all) {
            if (!c.name().equals("broker")) {
                c.stop(15);
            }
        }
        for (ChildProcess c : all) {
            c.stop(15);
        }
        children.clear();
    }

    public void say(String fmt, Object... args) {
        System.out.println("[" + tag + "] " + String.format(Locale.ROOT, fmt, args));
        System.out.flush();
    }

    /**
     * {@code kdstream <args>} as a small service on shared cores: serial GC (no parallel GC threads),
     * the C1 compiler only and one libtorch thread unless the user set OMP_NUM_THREADS. These JVMs
     * live minutes and spend them in libtorch: C2's compilations cost a demo student 2-4 of its ~49
     * CPU-seconds and bought nothing back (docs/benchmarks.md, "The demo's JVMs").
     */
    private static KdstreamJvm.Builder service(String maxHeap, List<String> args) {
        KdstreamJvm.Builder jvm = KdstreamJvm.kdstream(args).optHeap(maxHeap).optJvmOption("-XX:+UseSerialGC")
                .optJvmOption("-XX:TieredStopAtLevel=1");
        return System.getenv("OMP_NUM_THREADS") == null ? jvm.optEnv("OMP_NUM_THREADS", "1") : jvm;
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down already
        }
    }
}
