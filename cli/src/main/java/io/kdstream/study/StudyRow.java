package io.kdstream.study;

import io.kdstream.model.Architecture;
import java.util.ArrayList;
import java.util.List;


/**
 * One row of the study: an objective, the teacher normalization its stream needs, and the
 * candidate settings its tuning chooses from. Every row has the same number of candidates
 * (equal tuning effort), chosen on a validation split carved from train. The first candidate is the
 * row's default: the one used without tuning ({@code --tune-seeds 0}), and it wins ties.
 *
 * <p>The learning rate is tuned once per architecture, on the {@code alone} row, and every other
 * row trains with the rate chosen there: a row's own candidates tune only what the row adds
 * (loss weights, temperature). Tuning the rate on one row only would let that row win on the
 * rate alone, which is what the first two-architecture study measured for the CNN.
 *
 * @param vkd orthogonal projection: a CNN student's embedding is standardized first
 *            ({@code --student-norm layer}); a ViT's leaves it through a LayerNorm
 *            ({@link Architecture#normalizedEmbedding()})
 * @param torchScript the student is the cell's architecture defined in PyTorch ({@code examples/zoo.py
 *            script}) and trained as {@code --student FILE.pt}, not the zoo student itself
 */
record StudyRow(String id, String teacherNorm, String featureDtype, boolean vkd, String tuned,
                List<Candidate> candidates, boolean torchScript) {

    /** The architectures {@code examples/zoo.py script} can write as TorchScript. */
    static final List<String> SCRIPTABLE = List.of("cnn", "mlp");

    /** A zoo student's row. */
    StudyRow(String id, String teacherNorm, String featureDtype, boolean vkd, String tuned,
             List<Candidate> candidates) {
        this(id, teacherNorm, featureDtype, vkd, tuned, candidates, false);
    }

    /** A row streaming f16 features, as every row did before issue 28. */
    StudyRow(String id, String teacherNorm, boolean vkd, String tuned, List<Candidate> candidates) {
        this(id, teacherNorm, "f16", vkd, tuned, candidates);
    }

    /**
     * The teacher stream this row trains from, the suffix of its run name: the normalization, plus
     * the feature dtype when it is not f16 (so f16 runs keep the names they were stored under).
     * Per-batch whitening's stream is now named {@code whiten-batch}: the study re-streams it once.
     */
    String stream() {
        // "whiten" named the per-batch streams of studies before issue 28: their retained runs
        // (manifests without a calibrated whitening) must not be mistaken for calibrated ones
        String norm = "whiten".equals(teacherNorm) ? "whiten-cal" : teacherNorm;
        return "f16".equals(featureDtype) ? norm : norm + "-" + featureDtype;
    }

    /**
     * Rows outside the default set, selected by name with {@code --rows}: issue 28's study of what
     * the feature dtype costs VkD (layer-normalized features as f32, bf16 or i8; the VkD row is
     * the f16 reference), to be run on its best setting, e.g. {@code --arch vit-pool --augment
     * crop+flip --rows VkD,VkD-f32,VkD-bf16,VkD-i8,VkD-whiten,VkD-whiten-cal}; and issue 24's VkD-ts,
     * VkD with the cell's architecture (cnn or mlp) written in PyTorch, a TorchScript student, to
     * compare with the VkD row's zoo student: {@code --archs cnn --rows VkD,VkD-ts}.
     */
    static List<StudyRow> optional() {
        List<String> noKd = List.of("--gamma", "0");
        return List.of(
                new StudyRow("VkD-f32", "layer", "f32", true, "alpha", alphas(List.of(), noKd)),
                new StudyRow("VkD-bf16", "layer", "bf16", true, "alpha", alphas(List.of(), noKd)),
                new StudyRow("VkD-i8", "layer", "i8", true, "alpha", alphas(List.of(), noKd)),
                // issue 24: VkD's student written in PyTorch, the same architecture, trained from the same stream
                new StudyRow("VkD-ts", "layer", "f16", true, "alpha", alphas(List.of(), noKd), true));
    }

    /** {@link #all()} and {@link #optional()}: every row {@code --rows} can name. */
    static List<StudyRow> known() {
        List<StudyRow> out = new ArrayList<>(all());
        out.addAll(optional());
        return out;
    }

    /** A setting of the row's tuned hyper-parameters. */
    record Candidate(String label, List<String> args) {
    }

    /** The student's own default ({@code kdstream student --lr}); see {@link #args}. */
    static final String DEFAULT_LR = "0.002";

    /** Whether this row's candidates choose the learning rate that every other row then uses. */
    boolean tunesLearningRate() {
        return candidates.stream().allMatch(c -> c.args().contains("--lr"));
    }

    /**
     * The student's objective arguments for candidate {@code c}, trained with learning rate
     * {@code lr} unless the candidate sets its own. The default rate is left implicit, so that
     * students stored before the rate was shared still match their arguments and are reused.
     */
    List<String> args(Candidate c, String arch, String lr) {
        List<String> out = new ArrayList<>(c.args());
        if (!c.args().contains("--lr") && !lr.equals(DEFAULT_LR)) {
            out.addAll(List.of("--lr", lr));
        }
        if (vkd) {
            boolean normalized = Architecture.parse(arch).normalizedEmbedding();
            out.addAll(List.of("--projection", "matrix_exp", "--student-norm", normalized ? "none" : "layer"));
        }
        return out;
    }

    /**
     * alone, logit KD, linear projector (FitNet), VkD, VkD + logit KD, VkD on batch-standardized
     * teacher features without and with logit KD, and VkD on teacher features whitened per batch
     * and with the run's calibrated whitening.
     */
    /** {@code --rows}: the rows' ids, a picocli converter and candidates. */
    public static final class Names extends io.kdstream.config.Choice {
        public Names() {
            super(known().stream().map(StudyRow::id).toList());
        }
    }

    static List<StudyRow> all() {
        List<String> noKd = List.of("--gamma", "0");
        return List.of(
                new StudyRow("alone", "layer", false, "learning rate", List.of(
                        // 0.004 won the CNN's tuning when the grid stopped there, so it reaches past it
                        c("lr=0.002", "--alpha", "0", "--gamma", "0", "--lr", DEFAULT_LR),
                        c("lr=0.004", "--alpha", "0", "--gamma", "0", "--lr", "0.004"),
                        c("lr=0.008", "--alpha", "0", "--gamma", "0", "--lr", "0.008"))),
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
                // batch standardization and logit KD each added ~0.6 points to the ViT's VkD in the
                // all-rows 40-epoch study; this row asks whether they add up. Alpha 4 is what VkD-batch
                // chose there; gamma's grid is centred on 1, which won both rows that tuned it
                new StudyRow("VkD-batch+logit", "batch", true, "gamma (alpha=4, T=2)", List.of(
                        c("gamma=1", "--alpha", "4", "--gamma", "1", "--temperature", "2"),
                        c("gamma=0.5", "--alpha", "4", "--gamma", "0.5", "--temperature", "2"),
                        c("gamma=2", "--alpha", "4", "--gamma", "2", "--temperature", "2"))),
                // each batch whitened by its own covariance: degenerate for B <= d_t (issue 28)
                new StudyRow("VkD-whiten", "whiten-batch", true, "alpha", alphas(List.of(), noKd)),
                // one whitening matrix from the run's calibration set, the same for every batch
                new StudyRow("VkD-whiten-cal", "whiten", true, "alpha", alphas(List.of(), noKd)));
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

    /** The learning rate candidate {@code c} sets, or the student's default. */
    static String learningRate(Candidate c) {
        int i = c.args().indexOf("--lr");
        return i < 0 ? DEFAULT_LR : c.args().get(i + 1);
    }

    private static Candidate c(String label, String... args) {
        return new Candidate(label, List.of(args));
    }
}
