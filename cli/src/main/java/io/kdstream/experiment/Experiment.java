package io.kdstream.experiment;

import java.util.ArrayList;
import java.util.List;

/**
 * One student of the demo's comparison: a variant (the ablation row) and a seed. All students
 * share the architecture, data, budget and teacher stream; only the objective differs.
 */
public record Experiment(String variant, int seed, List<String> objectiveArgs) {

    /**
     * The rows of the report, in order: the student alone, logit KD, FitNet-style linear projector, VkD.
     * VkD standardizes the CNN student's embedding before the orthogonal projection (as a DeiT
     * student's embedding is layer-normalized): without it, a pure rotation must reproduce the
     * teacher's feature scale and VkD trailed the baselines (README, "Results").
     */
    public static List<Experiment> all(int seeds) {
        List<Experiment> out = new ArrayList<>();
        for (int s = 1; s <= seeds; s++) {
            out.add(new Experiment("alone", s, List.of("--alpha", "0", "--gamma", "0")));
            out.add(new Experiment("logit", s, List.of("--alpha", "0", "--gamma", "0.5", "--temperature", "2")));
            out.add(new Experiment("linear", s, List.of("--projection", "linear", "--alpha", "1", "--gamma", "0")));
            out.add(new Experiment("VkD", s, List.of("--projection", "matrix_exp", "--student-norm", "layer",
                    "--alpha", "1", "--gamma", "0")));
        }
        return out;
    }

    /** The consumer group of this student on {@code run}. */
    public String group(String run) {
        return run + "-" + variant.toLowerCase(java.util.Locale.ROOT) + "-s" + seed;
    }
}
