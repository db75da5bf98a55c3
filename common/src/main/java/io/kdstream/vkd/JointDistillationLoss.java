package io.kdstream.vkd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import ai.djl.ndarray.NDArray;

import io.kdstream.autograd.Scalars;

/**
 * The VkD objective with several teachers (issue 39): {@code ce + α·Σ_i w_i·feature_i + γ·kd}, where
 * {@code feature_i} compares the student's projection for teacher i with that teacher's normalized
 * features, and kd distills either one named teacher's logits or the mean of the teachers' softened
 * probabilities softmax(y_i/T) (over the teachers that publish logits). The ce, kd and total terms
 * are {@link DistillationLoss}'s; with one teacher of weight 1 every number is that loss's.
 */
public final class JointDistillationLoss {

    /** {@link Builder#optLogitsFrom(int)} value: the mean of every given teacher's soft probabilities. */
    public static final int LOGITS_MEAN = -1;

    private final DistillationLoss loss;
    private final double[] weights;
    private final int logitsFrom;

    private JointDistillationLoss(LossWeights w, double[] weights, int logitsFrom) {
        this.loss = DistillationLoss.builder().optLossWeights(w).build();
        this.weights = weights;
        this.logitsFrom = logitsFrom;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Number of teachers. */
    public int teachers() {
        return weights.length;
    }

    /**
     * The step's loss.
     *
     * @param projected the student's features projected for each teacher [B, d_t,i], in teacher order
     * @param teacherFeatures each teacher's normalized features [B, d_t,i]
     * @param studentLogits student logits [B, C], or null for a feature-only objective (ce = 0)
     * @param labels class indices [B], required with {@code studentLogits}
     * @param teacherLogits each teacher's logits [B, C], an entry null where that teacher publishes
     *     none; null or all-null: kd = 0
     */
    public JointLossBreakdown compute(List<NDArray> projected, List<NDArray> teacherFeatures, NDArray studentLogits,
            NDArray labels, List<NDArray> teacherLogits) {
        if (projected.size() != weights.length || teacherFeatures.size() != weights.length
                || teacherLogits != null && teacherLogits.size() != weights.length) {
            throw new IllegalArgumentException("need one projection, one feature batch and one logits entry per teacher ("
                    + weights.length + "), got " + projected.size() + ", " + teacherFeatures.size() + " and "
                    + (teacherLogits == null ? "none" : teacherLogits.size()));
        }
        List<NDArray> each = new ArrayList<>(weights.length);
        NDArray feature = null;
        for (int i = 0; i < weights.length; i++) {
            NDArray f = loss.featureLoss().compute(projected.get(i), teacherFeatures.get(i));
            each.add(f);
            // one teacher of weight 1 adds no op: its loss, gradient and numbers stay the single-teacher ones
            NDArray weighted = weights[i] == 1.0 ? f : Scalars.mul(f, weights[i]);
            feature = feature == null ? weighted : feature.add(weighted);
        }
        return new JointLossBreakdown(loss.combine(feature, studentLogits, labels, logitTargets(teacherLogits)),
                List.copyOf(each));
    }

    /** The logits kd distills: the named teacher's, or every teacher's that has some (mean). */
    private List<NDArray> logitTargets(List<NDArray> teacherLogits) {
        if (teacherLogits == null) {
            return List.of();
        }
        if (logitsFrom != LOGITS_MEAN) {
            NDArray t = teacherLogits.get(logitsFrom);
            return t == null ? List.of() : List.of(t);
        }
        List<NDArray> present = new ArrayList<>(teacherLogits.size());
        for (NDArray t : teacherLogits) {
            if (t != null) {
                present.add(t);
            }
        }
        return present;
    }

    /**
     * Builds a {@link JointDistillationLoss}; defaults: one teacher of weight 1, kd from the mean, and
     * {@link DistillationLoss.Builder}'s loss settings.
     */
    public static final class Builder extends LossWeights.Builder<Builder> {
        private double[] weights = {1.0};
        private int logitsFrom = LOGITS_MEAN;

        private Builder() {
            super(1);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** One weight w_i &ge; 0 per teacher, in teacher order, used as given; not all 0. */
        public Builder optTeacherWeights(double... weights) {
            this.weights = weights.clone();
            return this;
        }

        /** kd from teacher {@code index}'s logits alone, or {@link #LOGITS_MEAN} (default). */
        public Builder optLogitsFrom(int index) {
            this.logitsFrom = index;
            return this;
        }

        /** @throws IllegalArgumentException naming the setting that is out of range */
        public JointDistillationLoss build() {
            LossWeights w = lossWeights();
            if (weights.length == 0) {
                throw new IllegalArgumentException("need at least one teacher");
            }
            for (double x : weights) {
                if (!Double.isFinite(x) || x < 0) {
                    throw new IllegalArgumentException("teacher weights must be finite and >= 0, got "
                            + Arrays.toString(weights));
                }
            }
            if (Arrays.stream(weights).allMatch(x -> x == 0)) {
                throw new IllegalArgumentException("teacher weights are all 0: no teacher's features would count");
            }
            if (logitsFrom != LOGITS_MEAN && (logitsFrom < 0 || logitsFrom >= weights.length)) {
                throw new IllegalArgumentException("logits from teacher " + logitsFrom + ", but there are "
                        + weights.length + " teachers");
            }
            return new JointDistillationLoss(w, weights.clone(), logitsFrom);
        }
    }
}
