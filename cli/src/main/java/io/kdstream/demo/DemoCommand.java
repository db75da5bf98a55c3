package io.kdstream.demo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.ReportSetup;
import io.kdstream.experiment.SetupFacts;
import io.kdstream.experiment.StudentState;
import io.kdstream.model.Architecture;
import io.kdstream.model.Devices;
import io.kdstream.model.ModelCard;
import io.kdstream.process.ChildProcess;
import io.kdstream.process.Orchestrator;
import io.kdstream.process.TeacherLaunch;
import io.kdstream.progress.ProgressEvent.TeacherProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream demo}: the end-to-end experiment on one machine. A broker, a teacher-producer
 * and the students each run as their own JVM, as they would on separate hardware; one teacher
 * pass feeds every student from the retained topic, each in its own consumer group.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs the end-to-end distillation experiment on an embedded broker.",
                "Broker, teacher-producer and students run as separate processes, a data-limited Fashion-MNIST run "
                        + "comparing the student alone, logit KD, a linear (FitNet-style) projector and VkD; writes a "
                        + "Markdown report with curves. Ctrl-C stops every process."})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--work-dir", converter = PathOption.Directory.class, defaultValue = "kdstream-work",
            description = "Where the broker data, teacher, logs, checkpoints and report go (default: ${DEFAULT-VALUE}).")
    Path workDir;

    @Option(names = "--quick", description = "Smoke test: tiny teacher trained on the spot, few steps, one seed (1-2 min on 2 idle cores).")
    boolean quick;

    @Option(names = "--bootstrap-servers", description = "Use this Kafka cluster instead of starting a broker.")
    String bootstrapServers;

    @Option(names = "--teacher", converter = PathOption.Model.class, description = "Use this teacher model directory instead of training one.")
    Path teacher;

    @Option(names = "--device", defaultValue = "auto", converter = Devices.Names.class, description = "Device of the teacher and the students: "
            + Devices.HELP)
    String device;

    @Option(names = "--seeds", converter = Bounded.PositiveInt.class, description = "Seeds per student variant (default: 3, quick: 1).")
    Integer seeds;

    @Option(names = "--parallel", converter = Bounded.PositiveInt.class, defaultValue = "2", description = "Students trained at the same time (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--train-limit", converter = Bounded.PositiveInt.class, description = "Training images (stratified subset; default: 5000, quick: 1000).")
    Integer trainLimit;

    @Option(names = "--epochs", converter = Bounded.PositiveInt.class, description = "Teacher passes = student epochs (default: 10, quick: 2).")
    Integer epochs;

    @Option(names = "--student-arch", converter = Architecture.Names.class, completionCandidates = Architecture.Names.class, description = "Student architecture: ${COMPLETION-CANDIDATES} (default: cnn, quick: mlp).")
    String studentArch;


    @Override
    public Integer call() throws Exception {
        if (!"auto".equals(device)) {
            Devices.resolve(device); // a device this host lacks fails now, not after the broker and teacher start
        }
        int nSeeds = seeds != null ? seeds : quick ? 1 : 3;
        int limit = trainLimit != null ? trainLimit : quick ? 1000 : 5000;
        int nEpochs = epochs != null ? epochs : quick ? 2 : 10;
        int batch = quick ? 100 : 128;
        String arch = studentArch != null ? studentArch : quick ? "mlp" : "cnn";
        String run = "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path runDir = workDir.resolve("runs").resolve(run);
        Files.createDirectories(runDir.resolve("logs"));
        long t0 = System.nanoTime();
        printPlan(nSeeds, limit, nEpochs);
        try (Orchestrator o = new Orchestrator("demo").optDevice(device)) {
            // a fresh cluster per demo: old runs' topics would only use disk
            String bs = bootstrapServers != null ? bootstrapServers
                    : o.startBroker(workDir.resolve("kafka"), true, runDir.resolve("logs/broker.log"));
            Path teacherDir = teacher != null ? teacher : o.teacher(teacherCacheDir(), quick);
            ModelCard card = ModelCard.read(teacherDir);
            say("teacher %s (d_t=%d), test accuracy %s", card.arch(), card.featureDim(), SetupFacts.percent(card.testAccuracy()));

            List<StudentState> students = new ArrayList<>();
            for (Experiment e : Experiment.all(nSeeds)) {
                students.add(new StudentState(e, e.group(run)));
            }
            AtomicReference<TeacherProgress> teacherProgress = new AtomicReference<>();
            AtomicLong teacherEnd = new AtomicLong();
            long teacherStart = System.nanoTime();
            TeacherLaunch launch = TeacherLaunch.of(run, bs, teacherDir, runDir.resolve("logs/teacher.log"))
                    .withData(limit, nEpochs, batch).withFeatures("layer", "flip");
            ChildProcess producer = o.startTeacher(launch, p -> {
                        teacherProgress.set(p);
                        if (p.finished()) {
                            teacherEnd.compareAndSet(0, System.nanoTime());
                        }
                    });

            ProgressBoard board = new ProgressBoard(teacherProgress::get, students);
            board.start();
            int failures = o.runStudents(students, s -> studentArgs(s, run, bs, arch, runDir), runDir.resolve("logs"),
                    parallel, s -> { });
            int teacherExit = producer.waitFor();
            // launch to the teacher's last line, as its log counts (not to the end of the students)
            long end = teacherEnd.get() != 0 ? teacherEnd.get() : System.nanoTime();
            double teacherSeconds = (end - teacherStart) / 1e9;
            board.stop();
            if (teacherExit != 0) {
                failures++;
                say("teacher-producer exited %d: see %s", teacherExit, runDir.resolve("logs/teacher.log"));
            }
            o.stopAll();

            TeacherProgress tr = teacherProgress.get();
            ReportSetup setup = ReportSetup.of("kdstream demo" + (quick ? " --quick" : ""), card,
                    "Fashion-MNIST, " + limit + " training images (stratified), full 10,000-image test split",
                    nEpochs + " epochs x " + (tr != null ? tr.total() / nEpochs : 0)
                    + " batches of " + batch + ", flip augmentation, layer-normalized f16 features, inline inputs",
                    arch + ", AdamW lr 0.002, cosine schedule, " + nSeeds + " seed(s) per row")
                    .with("run", run)
                    .with("teacher_throughput", tr == null ? "n/a" : String.format(Locale.ROOT,
                            "%.0f samples/s over %.0f s from launch to the last batch (start-up included; see its log)",
                            tr.samples() / teacherSeconds, teacherSeconds))
                    .with("wall_time", String.format(Locale.ROOT, "%.0f s", (System.nanoTime() - t0) / 1e9));
            List<DemoReport.Row> rows = DemoReport.rows(students);
            Path report = DemoReport.write(runDir, setup, students, rows);
            System.out.println();
            System.out.println(DemoReport.table(rows));
            System.out.println("report: " + report.toAbsolutePath());
            return failures == 0 ? 0 : 1;
        }
    }

    /** Teacher training time and teacher pass + students time measured on this project's 2-core machine type. */
    static final int TEACHER_SECONDS = 18 * 60;
    static final int QUICK_TEACHER_SECONDS = 30;
    static final int STUDENTS_SECONDS = 220; // 3 seeds, 5,000 images, 10 epochs
    static final int QUICK_STUDENTS_SECONDS = 60;

    /** The first screen: what runs, how long each phase takes, and that the teacher is trained only once. */
    private void printPlan(int nSeeds, int limit, int nEpochs) {
        int students = Experiment.all(nSeeds).size();
        say("%d students (%d objectives x %d seed(s), %d at a time), a Kafka broker and a teacher-producer, each its own process",
                students, students / nSeeds, nSeeds, Math.max(1, parallel));
        String measured = Runtime.getRuntime().availableProcessors() == 2 ? "" : " (measured on 2 cores)";
        Path cached = teacherCacheDir();
        if (teacher != null) {
            say("phase 1, teacher: using %s, no training", teacher);
        } else if (Files.isRegularFile(cached.resolve(ModelCard.FILE_NAME))) {
            say("phase 1, teacher: already trained, reusing %s", cached);
        } else {
            say("phase 1, teacher training: about %s%s, once: later runs reuse %s (ETA shown as it goes)",
                    minutes(quick ? QUICK_TEACHER_SECONDS : TEACHER_SECONDS), measured, cached);
        }
        double scale = quick ? 1 : nSeeds / 3.0 * limit / 5000.0 * nEpochs / 10.0;
        say("phase 2, teacher pass and students: about %s%s; then the results table and a report in %s",
                minutes((quick ? QUICK_STUDENTS_SECONDS : STUDENTS_SECONDS) * scale), measured, workDir.resolve("runs"));
    }

    private static String minutes(double seconds) {
        return seconds < 90 ? Math.round(seconds) + " s" : Math.round(seconds / 60) + " min";
    }

    private Path teacherCacheDir() {
        return workDir.resolve(quick ? "teacher-quick" : "teacher");
    }

    private List<String> studentArgs(StudentState s, String run, String bs, String arch, Path runDir) {
        List<String> args = new ArrayList<>(List.of("--run", run, "--group", s.group(),
                "--bootstrap-servers", bs, "--arch", arch, "--seed", Integer.toString(s.experiment().seed()),
                "--checkpoint-dir", runDir.resolve("checkpoints").resolve(s.group()).toString(),
                "--checkpoint-every", "1000", "--progress-interval", "2", "--idle-timeout", "PT10M"));
        // --quick evaluates at the end only; the student refuses --eval-limit where it would do nothing
        args.addAll(quick ? List.of("--eval-every", "0") : List.of("--eval-every", "50", "--eval-limit", "2000"));
        args.addAll(s.experiment().objectiveArgs());
        return args;
    }

    static void say(String fmt, Object... args) {
        System.out.println("[demo] " + String.format(Locale.ROOT, fmt, args));
        System.out.flush();
    }
}
