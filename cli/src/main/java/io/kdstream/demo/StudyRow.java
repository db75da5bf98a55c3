package io.kdstream.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * One row of the study: an objective, the teacher normalization its stream needs, and the
 * candidate settings its tuning chooses from. Every row has the same number of candidates
 * (equal tuning effort), chosen on a validation split carved from train. The first candidate is the
 * row's default: the one used without tuning ({@code --tune-seeds 0}), and it wins ties.
 *
 * @param vkd orthogonal projection: a CNN student's embedding is standardized first
 *            ({@code --student-norm layer}); a ViT's embedding is layer-normalized already
 */
record StudyRow(String id, String teacherNorm, boolean vkd, String tuned, List<Candidate> candidates) {

    /** A setting of the row's tuned hyper-parameters. */
    record Candidate(String label, List<String> args) {
    }

    List<String> args(Candidate c, String arch) {
        List<String> out = new ArrayList<>(c.args());
        if (vkd) {
            out.addAll(List.of("--projection", "matrix_exp", "--student-norm", arch.equals("vit") ? "none" : "layer"));
        }
        return out;
    }

    /** alone, logit KD, linear projector (FitNet), VkD, VkD + logit KD, VkD on batch- and whitened teacher features. */
    static List<StudyRow> all() {
        List<String> noKd = List.of("--gamma", "0");
        return List.of(
                new StudyRow("alone", "layer", false, "learning rate", List.of(
                        c("lr=0.002", "--alpha", "0", "--gamma", "0", "--lr", "0.002"),
                        c("lr=0.001", "--alpha", "0", "--gamma", "0", "--lr", "0.001"),
                        c("lr=0.004", "--alpha", "0", "--gamma", "0", "--lr", "0.004"))),
                new StudyRow("logit", "layer", false, "gamma, T", List.of(
                        c("gamma=0.5,T=2", "--alpha", "0", "--gamma", "0.5", "--temperature", "2"),
                        c("gamma=1,T=2", "--alpha", "0", "--gamma", "1", "--temperature", "2"),
                        c("gamma=1,T=4", "--alpha", "0", "--gamma", "1", "--temperature", "4"))),
                new StudyRow("linear", "layer", false, "alpha", alphas(List.of("--projection", "linear"), noKd)),
                new StudyRow("VkD", "layer", true, "alpha", alphas(List.of(), noKd)),
                new StudyRow("VkD+logit", "layer", true, "gamma (alpha=2, T=2)", List.of(
                        c("gamma=0.5", "--alpha", "2", "--gamma", "0.5", "--temperature", "2"),
                        c("gamma=0.25", "--alpha", "2", "--gamma", "0.25", "--temperature", "2"),
                        c("gamma=1", "--alpha", "2", "--gamma", "1", "--temperature", "2"))),
                new StudyRow("VkD-batch", "batch", true, "alpha", alphas(List.of(), noKd)),
                new StudyRow("VkD-whiten", "whiten", true, "alpha", alphas(List.of(), noKd)));
    }

    private static List<Candidate> alphas(List<String> prefix, List<String> suffix) {
        List<Candidate> out = new ArrayList<>();
        // 2 first: it won the validation tuning of every feature row in the first 40-epoch study,
        // where 2 was the top of the grid, so the grid now reaches past it
        for (String a : List.of("2", "1", "4")) {
            List<String> args = new ArrayList<>(prefix);
            args.addAll(List.of("--alpha", a));
            args.addAll(suffix);
            out.add(new Candidate("alpha=" + a, args));
        }
        return out;
    }

    private static Candidate c(String label, String... args) {
        return new Candidate(label, List.of(args));
    }
}
