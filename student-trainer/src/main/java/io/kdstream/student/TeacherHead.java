package io.kdstream.student;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.kdstream.manifest.RunSpec;
import io.kdstream.vkd.JointDistillationLoss;

/**
 * One teacher a student learns from: one joined run, with its own projection d_s → d_t (issue 39).
 * A student that joins several runs has one head per run, in {@code --run} order.
 *
 * @param run        the run id (names the head's parameters {@code proj/<run>/...} when there are several)
 * @param teacherDim the run's feature width d_t
 * @param weight     w in the feature loss Σ w·feature (from {@code --teacher-weight}), &ge; 0
 * @param hasLogits  whether the run's records carry teacher logits
 */
public record TeacherHead(String run, int teacherDim, double weight, boolean hasLogits) {

    /** @throws IllegalArgumentException on an empty run id, d_t &lt; 1 or a negative or non-finite weight */
    public TeacherHead {
        if (run == null || run.isEmpty()) {
            throw new IllegalArgumentException("a teacher head needs a run id");
        }
        if (teacherDim < 1) {
            throw new IllegalArgumentException("run " + run + ": d_t must be >= 1, got " + teacherDim);
        }
        if (!Double.isFinite(weight) || weight < 0) {
            throw new IllegalArgumentException("run " + run + ": teacher weight must be finite and >= 0, got " + weight);
        }
    }

    /**
     * The heads of the runs a student joins, in the given ({@code --run}) order, weighted as
     * {@code cfg}'s {@code --teacher-weight} says (none: equal weights summing to 1). Refuses, with one
     * line, what would train something other than asked: a weight for a run not joined, weights for
     * some runs and not others, and with γ &gt; 0 a logit source no run serves (issue 41's no-op rule).
     *
     * @throws IllegalStateException naming the option and the runs
     */
    public static List<TeacherHead> forRuns(StudentConfig cfg, List<RunSpec> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a student needs at least one run");
        }
        Set<String> ids = new LinkedHashSet<>();
        for (RunSpec r : runs) {
            if (!ids.add(r.runId())) {
                throw new IllegalStateException("--run " + r.runId() + " is given twice");
            }
        }
        Map<String, Double> given = cfg.teacherWeights();
        Set<String> unknown = new HashSet<>(given.keySet());
        unknown.removeAll(ids);
        if (!unknown.isEmpty()) {
            throw new IllegalStateException("--teacher-weight names " + sorted(unknown) + ", not a run this student "
                    + "joins (--run " + String.join(", ", ids) + ")");
        }
        if (!given.isEmpty() && given.size() != ids.size()) {
            Set<String> missing = new LinkedHashSet<>(ids);
            missing.removeAll(given.keySet());
            throw new IllegalStateException("--teacher-weight gives no weight for run " + String.join(", ", missing)
                    + ": give one for every --run, or none for equal weights");
        }
        List<TeacherHead> heads = new ArrayList<>(runs.size());
        for (RunSpec r : runs) {
            double w = given.isEmpty() ? 1.0 / runs.size() : given.get(r.runId());
            heads.add(new TeacherHead(r.runId(), r.featureDim(), w, r.logitClasses() > 0));
        }
        logitsFrom(cfg, heads); // refuses a source the runs cannot serve
        return List.copyOf(heads);
    }

    /**
     * Which head kd distills: its index, or {@link JointDistillationLoss#LOGITS_MEAN}.
     *
     * @throws IllegalStateException when {@code --logits-from} names no joined run, or γ &gt; 0 and the
     *     named run (or, for mean, every run) carries no logits
     */
    static int logitsFrom(StudentConfig cfg, List<TeacherHead> heads) {
        String from = cfg.logitsFrom();
        boolean mean = StudentConfig.LOGITS_MEAN.equals(from);
        int index = JointDistillationLoss.LOGITS_MEAN;
        if (!mean) {
            for (int i = 0; i < heads.size() && index < 0; i++) {
                if (heads.get(i).run().equals(from)) {
                    index = i;
                }
            }
            if (index < 0) {
                throw new IllegalStateException("--logits-from " + from + " is not a run this student joins (--run "
                        + heads.stream().map(TeacherHead::run).collect(Collectors.joining(", ")) + "), nor mean");
            }
        }
        if (cfg.gamma() > 0) {
            List<String> withLogits = heads.stream().filter(TeacherHead::hasLogits).map(TeacherHead::run).toList();
            if (!mean && !heads.get(index).hasLogits()) {
                throw new IllegalStateException("--logits-from " + from + ": run " + from + " carries no teacher logits"
                        + (withLogits.isEmpty() ? "" : " (runs with logits: " + String.join(", ", withLogits) + ")")
                        + ", so --gamma " + cfg.gamma() + " (logit distillation) would distill nothing");
            }
            if (withLogits.isEmpty()) {
                // without this the kd term is 0 at every step and the student trains as if --gamma were 0
                throw new IllegalStateException((heads.size() == 1 ? "run " + heads.get(0).run() + " carries"
                        : "none of runs " + heads.stream().map(TeacherHead::run).collect(Collectors.joining(", "))
                        + " carries") + " no teacher logits, so --gamma " + cfg.gamma() + " (logit distillation) "
                        + "cannot apply: start a teacher with --logits for a new run id "
                        + "(kdstream teacher --run NEW-RUN ... --logits), or train with --gamma 0");
            }
        }
        return index;
    }

    private static String sorted(Set<String> names) {
        return names.stream().sorted().collect(Collectors.joining(", "));
    }
}
