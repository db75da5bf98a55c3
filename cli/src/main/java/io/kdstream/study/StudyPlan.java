package io.kdstream.study;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.kdstream.data.AugmentPolicy;
import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.StudentState;

/**
 * What a study trains, without starting anything: the teacher streams, the tuning students of
 * every (architecture, row) and candidate, then the final students of every cell with the chosen
 * settings. Tuning comes in two phases: the row that tunes the learning rate first, since the
 * other rows train with the rate it chooses. {@link StudyCommand} executes the plan.
 */
final class StudyPlan {

    /** A row of one student architecture: where tuning results and chosen settings are kept. */
    record Key(String arch, String row) {
    }

    /** The stream a student trains on, its architecture, and whether it is a TorchScript twin. */
    record Job(String run, String arch, boolean torchScript) {
    }

    /** The study's shape, as its options give it. */
    record Settings(String name, List<String> archs, List<StudyRow> rows, List<Integer> trainLimits, int epochs,
                    int streamEpochs, String augment, int seeds, int firstSeed, int tuneSeeds) {
    }

    /** Tuning students' seeds are {@code TUNING_SEED + 1..}: apart from every final student's. */
    static final int TUNING_SEED = 100;

    private final Settings s;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Map<Key, List<StudentState>> tuningStudents = new LinkedHashMap<>();
    private final Map<Key, StudyReport.Tuning> tuning = new LinkedHashMap<>();
    private final Map<String, String> learningRates = new LinkedHashMap<>();

    StudyPlan(Settings settings) {
        this.s = settings;
    }

    /** The subset rows are tuned on. */
    int tuneLimit() {
        return s.trainLimits().get(0);
    }

    /** One teacher stream per (subset, normalization and dtype): run id to the first row that reads it. */
    Map<String, StudyRow> streams(int limit) {
        Map<String, StudyRow> out = new LinkedHashMap<>();
        s.rows().forEach(r -> out.putIfAbsent(run(limit, r.stream()), r));
        return out;
    }

    /**
     * The tuning students of one phase: every candidate of every row that tunes the learning rate
     * ({@code lrRows}), or of every other row, with the rates chosen so far.
     */
    List<StudentState> tuning(boolean lrRows) {
        List<StudentState> phase = new ArrayList<>();
        for (String arch : s.archs()) {
            for (StudyRow r : s.rows()) {
                if (r.tunesLearningRate() != lrRows) {
                    continue;
                }
                List<StudentState> mine = tuningStudents.computeIfAbsent(new Key(arch, r.id()), k -> new ArrayList<>());
                for (int c = 0; c < r.candidates().size() && s.tuneSeeds() > 0; c++) {
                    for (int seed = TUNING_SEED + 1; seed <= TUNING_SEED + s.tuneSeeds(); seed++) {
                        StudyRow.Candidate cand = r.candidates().get(c);
                        Experiment e = new Experiment(r.id() + " " + cand.label(), seed, r.args(cand, arch, rate(arch)));
                        StudentState st = new StudentState(e, group("tune", arch, tuneLimit(), r.id() + "-c" + c, seed));
                        jobs.put(st.group(), new Job(run(tuneLimit(), r.stream()), arch, r.torchScript()));
                        phase.add(st);
                        mine.add(st);
                    }
                }
            }
        }
        return phase;
    }

    /** Chooses each row of the phase by validation accuracy; the learning-rate row sets the rate of its architecture. */
    void choose(boolean lrRows) {
        for (String arch : s.archs()) {
            for (StudyRow r : s.rows()) {
                if (r.tunesLearningRate() == lrRows) {
                    Key k = new Key(arch, r.id());
                    StudyReport.Tuning t = StudyReport.Tuning.choose(r, tuningStudents.get(k));
                    tuning.put(k, t);
                    if (lrRows) {
                        learningRates.put(arch, StudyRow.learningRate(r.candidates().get(t.chosen())));
                    }
                }
            }
        }
    }

    /** Every row's tuning, in the rows' own order (not the order they were tuned in). */
    Map<Key, StudyReport.Tuning> tuning() {
        Map<Key, StudyReport.Tuning> ordered = new LinkedHashMap<>();
        for (String arch : s.archs()) {
            for (StudyRow r : s.rows()) {
                ordered.put(new Key(arch, r.id()), tuning.get(new Key(arch, r.id())));
            }
        }
        return ordered;
    }

    /** The learning rate chosen per architecture; empty without tuning. */
    Map<String, String> learningRates() {
        return learningRates;
    }

    /** The final students by cell, one cell per (architecture, subset), and in the order they train. */
    record Finals(List<StudyReport.Cell> cells, List<StudentState> inOrder) {
    }

    /** The final students with each row's chosen setting; seed-major within a cell. */
    Finals finals() {
        List<StudyReport.Cell> cells = new ArrayList<>();
        List<StudentState> inOrder = new ArrayList<>();
        for (String arch : s.archs()) {
            for (int limit : s.trainLimits()) {
                StudyReport.Cell cell = new StudyReport.Cell(arch, limit, new LinkedHashMap<>());
                // seed-major: a study cut short still has complete, paired seeds for every row
                for (int seed = s.firstSeed(); seed < s.firstSeed() + s.seeds(); seed++) {
                    for (StudyRow r : s.rows()) {
                        StudyRow.Candidate cand = r.candidates().get(tuning.get(new Key(arch, r.id())).chosen());
                        Experiment e = new Experiment(r.id(), seed, r.args(cand, arch, rate(arch)));
                        StudentState st = new StudentState(e, group("final", arch, limit, r.id(), seed));
                        jobs.put(st.group(), new Job(run(limit, r.stream()), arch, r.torchScript()));
                        cell.students().computeIfAbsent(r.id(), k -> new ArrayList<>()).add(st);
                        inOrder.add(st);
                    }
                }
                cells.add(cell);
            }
        }
        return new Finals(cells, inOrder);
    }

    /** What the student of {@code group} trains on. */
    Job job(String group) {
        return jobs.get(group);
    }

    private String rate(String arch) {
        return learningRates.getOrDefault(arch, StudyRow.DEFAULT_LR);
    }

    /** The run of a stream; a new stream configuration is a new run. */
    String run(int limit, String stream) {
        return s.name() + "-n" + limit + "-e" + s.streamEpochs() + augmentTag(s.augment()) + "-" + stream;
    }

    /**
     * {@code <name>-<phase>-<arch>-n<limit>-e<epochs>[-a<augment>]-<row>-s<seed>}: also the consumer group and
     * the stored file's name, so a student stored under another augmentation is never reused.
     */
    private String group(String phase, String arch, int limit, String row, int seed) {
        return s.name() + "-" + phase + "-" + arch + "-n" + limit + "-e" + s.epochs() + augmentTag(s.augment()) + "-"
                + row.replace('+', 'p') + "-s" + seed;
    }

    static final AugmentPolicy DEFAULT_AUGMENT = AugmentPolicy.parse("flip");

    /** Empty for the default {@code flip}, so studies stored before --augment existed still resume. */
    static String augmentTag(String augment) {
        return AugmentPolicy.parse(augment).equals(DEFAULT_AUGMENT) ? "" : "-a" + augment.replaceAll("[^A-Za-z0-9]", "");
    }
}
