package io.kdstream.study;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.experiment.ReportSetup;
import io.kdstream.experiment.SetupFacts;
import io.kdstream.experiment.StudentState;
import io.kdstream.model.Architecture;
import io.kdstream.model.Devices;
import io.kdstream.model.ModelCard;
import io.kdstream.process.ChildProcess;
import io.kdstream.process.Orchestrator;
import io.kdstream.process.TeacherLaunch;
import io.kdstream.student.ZooExport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream study}: the demo's comparison made large enough to tell distillation from seed
 * noise. One teacher pass per (training subset, teacher normalization) is streamed once; every
 * student replays the retained topic for a long schedule. Rows are tuned on a validation split
 * carved from train, then trained with several seeds and evaluated on the test split; the report
 * has paired differences with 95% intervals. Resumable: finished students are kept in the study
 * directory and reused when the same command runs again.
 */
@Command(name = "study", mixinStandardHelpOptions = true,
        description = {"Runs the distillation study: students x rows x seeds from one teacher pass per stream, replayed.",
                "Tunes every row on a validation split carved from train (same number of candidates per row), trains "
                        + "the chosen setting with --seeds seeds, writes report.md/json and plots. Run the same command "
                        + "again to resume."})
public final class StudyCommand implements Callable<Integer> {

    @Option(names = "--work-dir", converter = PathOption.Directory.class, defaultValue = "kdstream-work", description = "Work directory (default: ${DEFAULT-VALUE}).")
    Path workDir;

    @Option(names = "--name", defaultValue = "study",
            description = "Study name: its state is in <work-dir>/study/<name>; same name = resume (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--report-dir", converter = PathOption.Directory.class, description = "Where report.md, report.json and the plots go (default: the study directory).")
    Path reportDir;

    @Option(names = "--teacher", converter = PathOption.Model.class, description = "Teacher model directory (default: <work-dir>/teacher, trained if missing).")
    Path teacher;

    @Option(names = "--device", defaultValue = "auto", converter = Devices.Names.class, description = "Device of the teacher and the students: "
            + Devices.HELP)
    String device;

    @Option(names = "--bootstrap-servers", description = "Use this Kafka cluster instead of the study's own broker.")
    String bootstrapServers;

    @Option(names = "--archs", converter = Architecture.Names.class, completionCandidates = Architecture.Names.class, split = ",", defaultValue = "vit,cnn", description = "Student architectures (default: ${DEFAULT-VALUE}).")
    List<String> archs;

    @Option(names = "--train-limits", converter = Bounded.PositiveInt.class, split = ",", defaultValue = "5000,1000",
            description = "Training subsets (images); the first is where rows are tuned (default: ${DEFAULT-VALUE}).")
    List<Integer> trainLimits;

    @Option(names = "--rows", converter = StudyRow.Names.class, completionCandidates = StudyRow.Names.class, split = ",", description = "Only these rows (default: all: alone, logit, linear, VkD, VkD+logit, VkD-batch, VkD-batch+logit, VkD-whiten, VkD-whiten-cal; by name only: VkD-f32, VkD-bf16, VkD-i8, and VkD-ts, the TorchScript twin of VkD for cnn and mlp).")
    List<String> rowFilter;

    @Option(names = "--epochs", converter = Bounded.PositiveInt.class, defaultValue = "40", description = "Student epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--stream-epochs", converter = Bounded.PositiveInt.class, defaultValue = "10",
            description = "Epochs the teacher streams (distinct augmentations); students replay them to reach --epochs (default: ${DEFAULT-VALUE}).")
    int streamEpochs;

    @Option(names = "--augment", converter = AugmentPolicy.Names.class, defaultValue = "flip",
            description = "Augmentation of the streamed batches, e.g. flip or crop+flip: every stream epoch is a new view (default: ${DEFAULT-VALUE}).")
    AugmentPolicy augment;

    @Option(names = "--seeds", converter = Bounded.PositiveInt.class, defaultValue = "5", description = "Seeds per row (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--first-seed", converter = Bounded.NonNegativeInt.class, defaultValue = "1",
            description = "Seed of the first final student of every row; a replication with new seeds starts past the last run's (default: ${DEFAULT-VALUE}).")
    int firstSeed;

    @Option(names = "--tune-seeds", converter = Bounded.NonNegativeInt.class, defaultValue = "1",
            description = "Seeds per tuning candidate; 0 = no tuning, each row's first candidate (default: ${DEFAULT-VALUE}).")
    int tuneSeeds;

    @Option(names = "--validation-size", converter = Bounded.PositiveInt.class, defaultValue = "2000", description = "Validation images carved from train (default: ${DEFAULT-VALUE}).")
    int validationSize;

    @Option(names = "--parallel", converter = Bounded.PositiveInt.class, defaultValue = "2", description = "Students trained at the same time (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--eval-every", converter = Bounded.NonNegativeInt.class, defaultValue = "100", description = "Steps between evaluations for the curves (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--report-only",
            description = "Write the report from the students finished so far; train nothing (rows still running are marked incomplete).")
    boolean reportOnly;

    @Option(names = "--batch-size", converter = Bounded.PositiveInt.class, defaultValue = "128", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;


    @Override
    public Integer call() throws Exception {
        List<StudyRow> rows = checkedRows();
        Path studyDir = workDir.resolve("study").resolve(name);
        Path logs = studyDir.resolve("logs");
        Files.createDirectories(logs);
        StudyStore store = new StudyStore(studyDir);
        if (!reportOnly && rows.stream().anyMatch(StudyRow::torchScript)) {
            archs.forEach(a -> twin(studyDir, a, firstSeed)); // PyTorch missing fails now, not after the teachers
        }
        StudyPlan plan = new StudyPlan(new StudyPlan.Settings(name, archs, rows, trainLimits, epochs, streamEpochs,
                augment.toString(), seeds, firstSeed, tuneSeeds));
        long t0 = System.nanoTime();
        try (Orchestrator o = new Orchestrator("study").optDevice(device)) {
            // the study's own broker keeps its data: the retained topics are what a restart replays
            String bs = bootstrapServers != null || reportOnly ? bootstrapServers
                    : o.startBroker(studyDir.resolve("kafka"), false, logs.resolve("broker.log"));
            Path teacherDir = teacher != null ? teacher : reportOnly ? workDir.resolve("teacher") : o.teacher(workDir.resolve("teacher"), false);
            ModelCard card = ModelCard.read(teacherDir);
            o.say("teacher %s (d_t=%d), test accuracy %s", card.arch(), card.featureDim(), SetupFacts.percent(card.testAccuracy()));

            // one teacher pass per stream, all started now: they are short next to the students
            List<ChildProcess> producers = new ArrayList<>();
            for (int limit : reportOnly ? List.<Integer>of() : trainLimits) {
                for (Map.Entry<String, StudyRow> stream : plan.streams(limit).entrySet()) {
                    String run = stream.getKey();
                    StudyRow r = stream.getValue();
                    producers.add(o.startTeacher(TeacherLaunch.of(run, bs, teacherDir, logs.resolve("teacher-" + run + ".log"))
                            .withData(limit, streamEpochs, batch).withFeatures(r.teacherNorm(), augment.toString())
                            .withFeatureDtype(r.featureDtype()), progress -> { }));
                }
            }
            Execution run = new Execution(o, store, bs, logs, studyDir, plan);

            // phase 1: every candidate of every row, on the validation split
            List<StudentState> tuneStudents = new ArrayList<>();
            int failures = 0;
            for (boolean lrRows : List.of(true, false)) {
                List<StudentState> phase = plan.tuning(lrRows);
                failures += run.train(phase, lrRows ? "tuning the learning rate" : "tuning", true);
                if (o.interrupted()) {
                    return stopped(o, studyDir);
                }
                tuneStudents.addAll(phase);
                plan.choose(lrRows);
            }

            // phase 2: the chosen setting of every row, --seeds seeds, on the test split
            StudyPlan.Finals planned = plan.finals();
            List<StudyReport.Cell> cells = planned.cells();
            List<StudentState> finals = planned.inOrder();
            failures += run.train(finals, "final", false);
            if (o.interrupted()) {
                return stopped(o, studyDir);
            }
            for (ChildProcess p : producers) {
                if (p.waitFor() != 0) {
                    failures++;
                    o.say("teacher-producer %s failed: see its log in %s", p.name(), logs);
                }
            }
            boolean stopped = o.interrupted(); // before stopAll(), which marks the orchestrator interrupted
            o.stopAll();
            List<StudentState> finished = java.util.stream.Stream.concat(tuneStudents.stream(), finals.stream())
                    .filter(StudentState::succeeded).toList();
            Path report = StudyReport.write(reportDir != null ? reportDir : studyDir,
                    setup(card, rows, plan, finished, System.nanoTime() - t0), rows, plan.tuning(), cells);
            System.out.println();
            System.out.println(Files.readString(report));
            System.out.println("report: " + report.toAbsolutePath());
            return failures == 0 && !stopped ? 0 : 1;
        }
    }

    /** The options checked against each other before anything starts; the rows the study trains. */
    private List<StudyRow> checkedRows() {
        if (!"auto".equals(device)) {
            Devices.resolve(device); // a device this host lacks fails now, not after the broker and teacher start
        }
        if (epochs % streamEpochs != 0) {
            throw new IllegalArgumentException("--epochs " + epochs + " must be a multiple of --stream-epochs " + streamEpochs);
        }
        if (firstSeed < 1 || firstSeed + seeds > StudyPlan.TUNING_SEED) {
            // tuning students train with seeds 101.., a final student must not repeat one of them
            throw new IllegalArgumentException("--first-seed " + firstSeed + " with --seeds " + seeds
                    + " must give seeds in 1.." + (StudyPlan.TUNING_SEED - 1));
        }
        List<StudyRow> rows = (rowFilter == null ? StudyRow.all() : StudyRow.known()).stream()
                .filter(r -> rowFilter == null || rowFilter.contains(r.id())).toList();
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("--rows " + rowFilter + " selects none of " + StudyRow.known().stream().map(StudyRow::id).toList());
        }
        for (StudyRow r : rows) {
            List<String> unscriptable = archs.stream().filter(a -> !StudyRow.SCRIPTABLE.contains(a)).toList();
            if (r.torchScript() && !unscriptable.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "row " + r.id()
                        + " trains the architecture written in PyTorch, which examples/zoo.py scripts for "
                        + String.join(" and ", StudyRow.SCRIPTABLE) + " only; --archs has " + unscriptable);
            }
        }
        return rows;
    }

    private ReportSetup setup(ModelCard card, List<StudyRow> rows, StudyPlan plan, List<StudentState> finished,
                              long wallNanos) {
        Map<String, String> learningRates = plan.learningRates();
        double studentSeconds = finished.stream().mapToDouble(StudentState::wallSeconds).sum();
        return ReportSetup.of("kdstream study " + String.join(" ", commandArgs()), card,
                "Fashion-MNIST, stratified training subsets of " + trainLimits + " images; tuning on a "
                + validationSize + "-image validation set carved from the rest of the training split; final accuracy "
                + "on the whole 10,000-image test split",
                streamEpochs + " teacher epochs (" + augment + " augmentation, f16 features unless a row names its dtype, teacher logits) per subset "
                + "and normalization, replayed " + (epochs / streamEpochs) + "x: " + epochs + " student epochs, batches of " + batch,
                archs + ", AdamW, learning rate " + (learningRates.isEmpty() ? StudyRow.DEFAULT_LR
                : "tuned on the alone row and shared by every row: " + learningRates) + ", weight decay 5e-4, cosine schedule, 20 warm-up steps")
                .with("tuning", tuneSeeds == 0 ? "none (each row's first candidate)"
                        : rows.get(0).candidates().size() + " candidates per row, " + tuneSeeds + " seed(s) each, on the "
                        + plan.tuneLimit() + "-image subset, chosen by validation accuracy and reused for every subset")
                .with("seeds", seeds + " per row (the same seeds " + firstSeed + ".." + (firstSeed + seeds - 1)
                        + " in every row, so differences are paired)")
                .with("wall_time", reportOnly ? "n/a (--report-only: written from the stored students)"
                        : String.format(Locale.ROOT, "%.1f min", wallNanos / 60e9))
                .with("student_time", String.format(Locale.ROOT, "%.1f min summed over %d finished students (%d at a time)",
                        studentSeconds / 60, finished.size(), parallel));
    }

    private int stopped(Orchestrator o, Path studyDir) {
        o.say("stopped; finished students are kept in %s: run the same command again to resume", studyDir.resolve("students"));
        return 130;
    }

    /** Runs a plan's students on the study's processes: the broker, the store and the logs. */
    private final class Execution {
        private final Orchestrator o;
        private final StudyStore store;
        private final String bs;
        private final Path logs;
        private final Path studyDir;
        private final StudyPlan plan;

        Execution(Orchestrator o, StudyStore store, String bs, Path logs, Path studyDir, StudyPlan plan) {
            this.o = o;
            this.store = store;
            this.bs = bs;
            this.logs = logs;
            this.studyDir = studyDir;
            this.plan = plan;
        }

        /** Trains the students not already stored, records each finished one, and deletes its checkpoints. */
        int train(List<StudentState> students, String phase, boolean validation) throws Exception {
            List<StudentState> todo = new ArrayList<>();
            for (StudentState s : students) {
                if (!store.restore(s)) {
                    todo.add(s);
                }
            }
            o.say("%s: %d students, %d stored from an earlier run, %d to train", phase, students.size(),
                    students.size() - todo.size(), reportOnly ? 0 : todo.size());
            if (reportOnly) {
                return 0;
            }
            long start = System.nanoTime();
            int[] done = {0};
            return o.runStudents(todo, s -> args(s, validation), logs, parallel, s -> {
                try {
                    store.save(s);
                    if (s.succeeded()) {
                        deleteTree(studyDir.resolve("checkpoints").resolve(s.group()));
                    }
                } catch (java.io.IOException e) {
                    o.say("could not record %s: %s", s.group(), e);
                }
                done[0]++;
                double min = (System.nanoTime() - start) / 60e9;
                o.say("%s %d/%d: %s %s %.2f%% (%.0f s); %.1f min so far, ~%.0f min left", phase, done[0], todo.size(),
                        s.group(), validation ? "validation" : "test", 100 * s.finalAccuracy(), s.wallSeconds(), min,
                        min / done[0] * (todo.size() - done[0]));
            });
        }

        /** The {@code kdstream student} arguments of one student of the plan. */
        private List<String> args(StudentState s, boolean validation) {
            StudyPlan.Job job = plan.job(s.group());
            int seed = s.experiment().seed();
            List<String> args = new ArrayList<>(List.of("--run", job.run(), "--group", s.group(), "--bootstrap-servers", bs));
            args.addAll(job.torchScript() ? List.of("--student", twin(studyDir, job.arch(), seed).toString(),
                    "--student-outputs", "features,logits") : List.of("--arch", job.arch()));
            args.addAll(List.of("--seed", Integer.toString(seed),
                    "--checkpoint-dir", studyDir.resolve("checkpoints").resolve(s.group()).toString(),
                    "--checkpoint-every", "200", "--eval-every", Integer.toString(evalEvery),
                    "--replay-epochs", Integer.toString(epochs / streamEpochs - 1),
                    "--progress-interval", "5", "--idle-timeout", "PT30M"));
            if (evalEvery > 0) { // the student refuses options that would do nothing
                args.addAll(List.of("--eval-limit", "2000"));
            }
            args.addAll(validation ? List.of("--eval-split", "validation", "--validation-size",
                    Integer.toString(validationSize)) : List.of("--eval-split", "test"));
            args.addAll(s.experiment().objectiveArgs());
            return args;
        }
    }

    /**
     * The TorchScript twin of zoo architecture {@code arch} for seed {@code seed}, kept with the study:
     * the weights the zoo student of that seed starts from ({@link ZooExport#initialWeights}, for the
     * study's Fashion-MNIST images), scripted by {@code examples/zoo.py script} with Debian's PyTorch.
     * Same start, same stream, same seed: what VkD-ts measures against VkD is the training path alone.
     */
    private static synchronized Path twin(Path studyDir, String arch, int seed) {
        Path file = studyDir.resolve("students").resolve(arch + "-s" + seed + ".pt");
        if (Files.isRegularFile(file)) {
            return file;
        }
        try {
            Files.createDirectories(file.getParent());
            Path zoo = Path.of("examples/zoo.py").toAbsolutePath();
            if (!Files.isRegularFile(zoo)) {
                throw new IllegalStateException("the TorchScript twin rows need examples/zoo.py; run from the repository ("
                        + zoo + " not found)");
            }
            Path weights = file.resolveSibling(arch + "-s" + seed + ".safetensors");
            ZooExport.initialWeights(Architecture.parse(arch), 1, 28, 28, 10, seed, weights); // Fashion-MNIST
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Process p = new ProcessBuilder("/usr/bin/python3", zoo.toString(), "script", weights.toString(),
                    tmp.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("examples/zoo.py script " + arch + " failed (Debian's python3-torch "
                        + "installed?): " + out.strip());
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing " + file, e);
        }
    }

    private List<String> commandArgs() {
        List<String> a = new ArrayList<>(List.of("--name", name, "--archs", String.join(",", archs),
                "--train-limits", String.join(",", trainLimits.stream().map(String::valueOf).toList()),
                "--epochs", Integer.toString(epochs), "--stream-epochs", Integer.toString(streamEpochs),
                "--seeds", Integer.toString(seeds), "--tune-seeds", Integer.toString(tuneSeeds),
                "--validation-size", Integer.toString(validationSize),
                "--parallel", Integer.toString(parallel), "--eval-every", Integer.toString(evalEvery)));
        if (!augment.equals(StudyPlan.DEFAULT_AUGMENT)) {
            a.addAll(List.of("--augment", augment.toString()));
        }
        if (firstSeed != 1) {
            a.addAll(List.of("--first-seed", Integer.toString(firstSeed)));
        }
        if (reportDir != null) {
            a.addAll(List.of("--report-dir", reportDir.toString()));
        }
        if (rowFilter != null) {
            a.addAll(List.of("--rows", String.join(",", rowFilter)));
        }
        return a;
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
