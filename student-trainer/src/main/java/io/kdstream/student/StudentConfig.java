package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import io.kdstream.model.Architecture;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.LossWeights;
import io.kdstream.vkd.Normalization;

/**
 * A student experiment's hyper-parameters; everything except the run (which comes from the
 * manifest) and the infrastructure (Kafka, directories, ports). Built in the DJL style:
 * {@code StudentConfig.builder().optArch(Architecture.MLP).optAlpha(1.0).build()}; every option has
 * the default of the {@code kdstream student} command line, and {@link Builder#build()} validates.
 *
 * <p>{@link #toString()} is this experiment's identity in a checkpoint: a resumed student compares
 * it with the checkpoint's and warns when they differ. Its form is the one the configuration had as
 * a record (option names, command-line spellings), so checkpoints written before keep matching. A
 * TorchScript student is identified by its file's SHA-256 and output order in place of {@code arch}.
 */
public final class StudentConfig {

    /** {@link #logitsFrom()} of the default: kd against the mean of the teachers' softened probabilities. */
    public static final String LOGITS_MEAN = "mean";

    private final Architecture arch;
    private final Projection projection;
    private final LossWeights lossWeights;
    private final FeatureLoss featureLoss;
    private final double alpha;
    private final double gamma;
    private final double temperature;
    private final double labelSmoothing;
    private final ParameterOptimizer.Kind optimizer;
    private final double lr;
    private final double weightDecay;
    private final LrSchedule.Kind schedule;
    private final int warmupSteps;
    private final int replayEpochs;
    private final long seed;
    private final Normalization studentNorm;
    private final TorchScriptStudent.Source torchScript;
    private final String torchScriptSha256;
    private final Map<String, Double> teacherWeights;
    private final String logitsFrom;

    private StudentConfig(Builder b, LossWeights lossWeights, String torchScriptSha256) {
        this.arch = b.arch;
        this.projection = b.projection;
        this.lossWeights = lossWeights;
        this.featureLoss = lossWeights.featureLoss();
        this.alpha = lossWeights.alpha();
        this.gamma = lossWeights.gamma();
        this.temperature = lossWeights.temperature();
        this.labelSmoothing = lossWeights.labelSmoothing();
        this.optimizer = b.optimizer;
        this.lr = b.lr;
        this.weightDecay = b.weightDecay;
        this.schedule = b.schedule;
        this.warmupSteps = b.warmupSteps;
        this.replayEpochs = b.replayEpochs;
        this.seed = b.seed;
        this.studentNorm = b.studentNorm;
        this.torchScript = b.torchScript;
        this.torchScriptSha256 = torchScriptSha256;
        this.teacherWeights = Collections.unmodifiableMap(new LinkedHashMap<>(b.teacherWeights));
        this.logitsFrom = b.logitsFrom;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults that work for the zoo students on Fashion-MNIST (those of the command line). */
    public static StudentConfig defaults() {
        return builder().build();
    }

    /** Student architecture from the model zoo (ignored when {@link #torchScriptStudent()} is set). */
    public Architecture arch() {
        return arch;
    }

    /** The TorchScript student to train instead of a zoo architecture, or null. */
    public TorchScriptStudent.Source torchScriptStudent() {
        return torchScript;
    }

    /** The student as messages name it: the zoo id, or the TorchScript file. */
    public String studentName() {
        return torchScript == null ? arch.id() : torchScript.file().toString();
    }

    public Projection projection() {
        return projection;
    }

    /** The objective's terms, as {@link DistillationLoss.Builder#optLossWeights} takes them. */
    public LossWeights lossWeights() {
        return lossWeights;
    }

    public FeatureLoss featureLoss() {
        return featureLoss;
    }

    /** Weight of the feature loss (0 = no feature distillation). */
    public double alpha() {
        return alpha;
    }

    /** Weight of logit distillation (used when the teacher publishes logits). */
    public double gamma() {
        return gamma;
    }

    /** Logit distillation temperature. */
    public double temperature() {
        return temperature;
    }

    /** Cross-entropy label smoothing. */
    public double labelSmoothing() {
        return labelSmoothing;
    }

    public ParameterOptimizer.Kind optimizer() {
        return optimizer;
    }

    /** Base learning rate. */
    public double lr() {
        return lr;
    }

    /** Weight decay (decoupled for AdamW). */
    public double weightDecay() {
        return weightDecay;
    }

    public LrSchedule.Kind schedule() {
        return schedule;
    }

    /** Linear warm-up steps. */
    public int warmupSteps() {
        return warmupSteps;
    }

    /** Extra passes over the retained topic after the teacher's epochs. */
    public int replayEpochs() {
        return replayEpochs;
    }

    /** Initialization seed. */
    public long seed() {
        return seed;
    }

    /**
     * {@link Normalization#NONE}, or {@link Normalization#LAYER}: standardize the student embedding
     * (no affine) before the projection, for the feature loss only.
     */
    public Normalization studentNorm() {
        return studentNorm;
    }

    /**
     * {@code --teacher-weight}: the feature-loss weight of each named run, used as given; empty (the
     * default) = equal weights summing to 1 over the joined runs ({@link TeacherHead#forRuns}).
     */
    public Map<String, Double> teacherWeights() {
        return teacherWeights;
    }

    /** {@code --logits-from}: the run whose logits kd distills, or {@link #LOGITS_MEAN} (default). */
    public String logitsFrom() {
        return logitsFrom;
    }

    /** The form checkpoints store (see the class comment); do not change it for an unchanged configuration. */
    @Override
    public String toString() {
        String student = torchScript == null ? "arch=" + arch.id()
                : "arch=torchscript, student=sha256:" + torchScriptSha256 + ", studentOutputs=" + torchScript.outputs();
        return "StudentConfig[" + student + ", projection=" + projection.configName() + ", featureLoss="
                + featureLoss.configName() + ", alpha=" + alpha + ", gamma=" + gamma + ", temperature=" + temperature
                + ", labelSmoothing=" + labelSmoothing + ", optimizer=" + optimizer + ", lr=" + lr + ", weightDecay="
                + weightDecay + ", schedule=" + schedule + ", warmupSteps=" + warmupSteps + ", replayEpochs="
                + replayEpochs + ", seed=" + seed + ", studentNorm=" + studentNorm.configName()
                // only when set, so the identity of a configuration without them is unchanged
                + (teacherWeights.isEmpty() ? "" : ", teacherWeights=" + teacherWeights)
                + (LOGITS_MEAN.equals(logitsFrom) ? "" : ", logitsFrom=" + logitsFrom) + "]";
    }

    /** Equal when every option is: the same identity a checkpoint compares. */
    @Override
    public boolean equals(Object o) {
        return o instanceof StudentConfig c && c.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /** Builder in the DJL style; starts from the defaults of the command line. */
    public static final class Builder extends LossWeights.Builder<Builder> {
        private Architecture arch = Architecture.CNN;
        private Projection projection = Projection.MATRIX_EXP;
        private ParameterOptimizer.Kind optimizer = ParameterOptimizer.Kind.ADAMW;
        private double lr = 2e-3;
        private double weightDecay = 5e-4;
        private LrSchedule.Kind schedule = LrSchedule.Kind.COSINE;
        private int warmupSteps = 20;
        private int replayEpochs = 0;
        private long seed = 0L;
        private Normalization studentNorm = Normalization.NONE;
        private TorchScriptStudent.Source torchScript;
        private final Map<String, Double> teacherWeights = new LinkedHashMap<>();
        private String logitsFrom = LOGITS_MEAN;

        private Builder() {
            super(4.0); // the command line's --temperature default
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Student architecture from the model zoo (default {@code cnn}). */
        public Builder optArch(Architecture arch) {
            this.arch = arch;
            return this;
        }

        /**
         * Trains the module in {@code file} (scripted by PyTorch &ge; 1.13) instead of a zoo
         * architecture; {@code outputs} is the order its forward returns them in,
         * {@code features,logits} or {@code logits,features}. Null file = a zoo student.
         */
        public Builder optTorchScriptStudent(Path file, String outputs) {
            this.torchScript = file == null ? null : new TorchScriptStudent.Source(file, outputs);
            return this;
        }

        /** Default {@link Projection#MATRIX_EXP}. */
        public Builder optProjection(Projection projection) {
            this.projection = projection;
            return this;
        }
        /** Feature-loss weight of run {@code run}, &ge; 0, used as given (default: equal weights summing to 1). */
        public Builder optTeacherWeight(String run, double weight) {
            this.teacherWeights.put(run, weight);
            return this;
        }

        /** Every run's feature-loss weight ({@link #optTeacherWeight}); replaces those set before. */
        public Builder optTeacherWeights(Map<String, Double> weights) {
            this.teacherWeights.clear();
            this.teacherWeights.putAll(weights);
            return this;
        }

        /** The run whose logits kd distills, or {@link #LOGITS_MEAN} (default). */
        public Builder optLogitsFrom(String run) {
            this.logitsFrom = run;
            return this;
        }

        /** Default {@link ParameterOptimizer.Kind#ADAMW}. */
        public Builder optOptimizer(ParameterOptimizer.Kind optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /** Base learning rate, &gt; 0 (default 0.002). */
        public Builder optLr(double lr) {
            this.lr = lr;
            return this;
        }

        /** Weight decay, &ge; 0 (default 0.0005). */
        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** Default {@link LrSchedule.Kind#COSINE}. */
        public Builder optSchedule(LrSchedule.Kind schedule) {
            this.schedule = schedule;
            return this;
        }

        /** Linear warm-up steps, &ge; 0 (default 20). */
        public Builder optWarmupSteps(int warmupSteps) {
            this.warmupSteps = warmupSteps;
            return this;
        }

        /** Extra passes over the retained topic after the run's epochs, &ge; 0 (default 0). */
        public Builder optReplayEpochs(int replayEpochs) {
            this.replayEpochs = replayEpochs;
            return this;
        }

        /** Initialization seed (default 0). */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@link Normalization#NONE} (default) or {@link Normalization#LAYER}. */
        public Builder optStudentNorm(Normalization studentNorm) {
            this.studentNorm = studentNorm;
            return this;
        }

        /** @throws IllegalArgumentException naming the option that is out of range */
        public StudentConfig build() {
            if (arch == null || projection == null || optimizer == null || schedule == null || studentNorm == null) {
                throw new IllegalArgumentException("arch, projection, optimizer, schedule and student norm must not be null");
            }
            LossWeights loss = lossWeights(); // checks the loss settings
            if (studentNorm != Normalization.NONE && studentNorm != Normalization.LAYER) {
                throw new IllegalArgumentException("--student-norm must be none or layer, got "
                        + studentNorm.configName());
            }
            if (lr <= 0 || weightDecay < 0 || warmupSteps < 0 || replayEpochs < 0) {
                throw new IllegalArgumentException(
                        "need lr > 0, weight decay >= 0, warmup >= 0, replay epochs >= 0");
            }
            teacherWeights.forEach((run, w) -> {
                if (run == null || run.isEmpty() || w == null || !Double.isFinite(w) || w < 0) {
                    throw new IllegalArgumentException("--teacher-weight needs RUN=W with W >= 0, got " + run + "=" + w);
                }
            });
            if (!teacherWeights.isEmpty() && teacherWeights.values().stream().allMatch(w -> w == 0)) {
                throw new IllegalArgumentException("--teacher-weight gives every run weight 0: no teacher's features "
                        + "would count (for no feature distillation, use --alpha 0)");
            }
            if (logitsFrom == null || logitsFrom.isEmpty()) {
                throw new IllegalArgumentException("--logits-from needs a run id or mean");
            }
            String sha = null;
            if (torchScript != null) {
                try {
                    sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(Files.readAllBytes(torchScript.file())));
                } catch (IOException e) {
                    throw new IllegalArgumentException("--student " + torchScript.file() + " cannot be read: " + e);
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
            return new StudentConfig(this, loss, sha);
        }
    }
}
