package io.kdstream.student;

import java.util.Locale;

/**
 * A student experiment's hyper-parameters; everything except the run (which comes from the
 * manifest) and the infrastructure (Kafka, directories, ports).
 *
 * @param arch            student architecture from the model zoo ({@code cnn}, {@code mlp})
 * @param projection      {@code matrix_exp} or {@code cayley} (VkD), {@code linear} (FitNet-style), {@code none}
 * @param featureLoss     {@code l2} or {@code smooth_l1}
 * @param alpha           weight of the feature loss (0 = no feature distillation)
 * @param gamma           weight of logit distillation (used when the teacher publishes logits)
 * @param temperature     logit distillation temperature
 * @param labelSmoothing  cross-entropy label smoothing
 * @param optimizer       {@code adamw} or {@code sgd}
 * @param lr              base learning rate
 * @param weightDecay     weight decay (decoupled for AdamW)
 * @param schedule        {@code cosine}, {@code step} or {@code constant}
 * @param warmupSteps     linear warm-up steps
 * @param replayEpochs    extra passes over the retained topic after the teacher's epochs
 * @param seed            initialization seed
 * @param studentNorm     {@code none}, or {@code layer}: standardize the student embedding (no affine)
 *                        before the projection, for the feature loss only
 */
public record StudentConfig(String arch, String projection, String featureLoss, double alpha, double gamma,
                            double temperature, double labelSmoothing, ParameterOptimizer.Kind optimizer, double lr,
                            double weightDecay, LrSchedule.Kind schedule, int warmupSteps, int replayEpochs,
                            long seed, String studentNorm) {

    public StudentConfig {
        arch = arch.toLowerCase(Locale.ROOT);
        projection = projection.toLowerCase(Locale.ROOT);
        featureLoss = featureLoss.toLowerCase(Locale.ROOT);
        if (!java.util.Set.of("matrix_exp", "cayley", "linear", "none").contains(projection)) {
            throw new IllegalArgumentException("--projection must be matrix_exp, cayley, linear or none, got "
                    + projection);
        }
        if (alpha < 0 || gamma < 0 || temperature <= 0 || labelSmoothing < 0 || labelSmoothing >= 1) {
            throw new IllegalArgumentException("need alpha >= 0, gamma >= 0, temperature > 0, 0 <= label smoothing < 1");
        }
        studentNorm = studentNorm.toLowerCase(Locale.ROOT);
        if (!studentNorm.equals("none") && !studentNorm.equals("layer")) {
            throw new IllegalArgumentException("--student-norm must be none or layer, got " + studentNorm);
        }
        if (lr <= 0 || weightDecay < 0 || warmupSteps < 0 || replayEpochs < 0) {
            throw new IllegalArgumentException("need lr > 0, weight decay >= 0, warmup >= 0, replay epochs >= 0");
        }
    }

    /** Without student-side normalization. */
    public StudentConfig(String arch, String projection, String featureLoss, double alpha, double gamma,
                         double temperature, double labelSmoothing, ParameterOptimizer.Kind optimizer, double lr,
                         double weightDecay, LrSchedule.Kind schedule, int warmupSteps, int replayEpochs, long seed) {
        this(arch, projection, featureLoss, alpha, gamma, temperature, labelSmoothing, optimizer, lr, weightDecay,
                schedule, warmupSteps, replayEpochs, seed, "none");
    }

    /** Defaults that work for the zoo students on Fashion-MNIST. */
    public static StudentConfig defaults() {
        return new StudentConfig("cnn", "matrix_exp", "l2", 1.0, 0.0, 4.0, 0.0, ParameterOptimizer.Kind.ADAMW,
                2e-3, 5e-4, LrSchedule.Kind.COSINE, 20, 0, 0L);
    }
}
