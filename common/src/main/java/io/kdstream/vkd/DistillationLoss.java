package io.kdstream.vkd;

import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;

import io.kdstream.autograd.Scalars;

/**
 * The VkD training objective {@code ce + α·feature + γ·kd} (DESIGN §3), in PyTorch semantics:
 * {@code F.cross_entropy(label_smoothing=ε)}, {@code F.mse_loss} / {@code F.smooth_l1_loss(beta=1)},
 * and T²·KL(softmax(y_t/T) ‖ softmax(y_s/T)) with batchmean reduction.
 */
public final class DistillationLoss {

    private final FeatureLoss featureLoss;
    private final double alpha;
    private final double gamma;
    private final double temperature;
    private final double labelSmoothing;

    private DistillationLoss(LossWeights w) {
        featureLoss = w.featureLoss();
        alpha = w.alpha();
        gamma = w.gamma();
        temperature = w.temperature();
        labelSmoothing = w.labelSmoothing();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The step's loss.
     *
     * @param projected student features after the orthogonal projection [B, d_t]
     * @param teacherFeatures normalized teacher features [B, d_t]
     * @param studentLogits student logits [B, C], or null for a feature-only objective (ce = 0)
     * @param labels class indices [B] (integer type), required with {@code studentLogits}
     * @param teacherLogits teacher logits [B, C], or null when the teacher publishes none (kd = 0)
     */
    public LossBreakdown compute(NDArray projected, NDArray teacherFeatures, NDArray studentLogits,
            NDArray labels, NDArray teacherLogits) {
        NDArray feature = featureLoss.compute(projected, teacherFeatures);
        return combine(feature, studentLogits, labels, teacherLogits == null ? List.of() : List.of(teacherLogits));
    }

    FeatureLoss featureLoss() {
        return featureLoss;
    }

    /**
     * {@code ce + α·feature + γ·kd} around a feature term computed elsewhere (one teacher's, or the
     * weighted sum of several); kd distills the mean of {@code teacherLogits}' softened
     * probabilities (empty: kd = 0).
     */
    LossBreakdown combine(NDArray feature, NDArray studentLogits, NDArray labels, List<NDArray> teacherLogits) {
        NDArray zero = feature.zerosLike();
        NDArray ce = studentLogits == null ? zero : crossEntropy(studentLogits, labels, labelSmoothing);
        NDArray kd = zero;
        if (!teacherLogits.isEmpty() && gamma != 0) {
            if (studentLogits == null) {
                throw new IllegalArgumentException("logit distillation needs student logits");
            }
            kd = logitDistillation(studentLogits, teacherLogits, temperature);
        }
        NDArray total = ce.add(Scalars.mul(feature, alpha));
        if (kd != zero) {
            total = total.add(Scalars.mul(kd, gamma));
        }
        return new LossBreakdown(total, ce, feature, kd);
    }

    /** Mean cross-entropy of logits [B, C] against class indices [B], with label smoothing ε. */
    public static NDArray crossEntropy(NDArray logits, NDArray labels, double labelSmoothing) {
        Shape s = logits.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("logits must be [B, C], got " + s);
        }
        if (labels == null || labels.getShape().dimension() != 1 || labels.getShape().get(0) != s.get(0)) {
            throw new IllegalArgumentException("labels must be [" + s.get(0) + "], got "
                    + (labels == null ? "none" : labels.getShape()));
        }
        if (labels.getDataType().isFloating()) {
            throw new IllegalArgumentException("labels must be integer class indices, got " + labels.getDataType());
        }
        int classes = Math.toIntExact(s.get(1));
        long min = labels.min().toType(ai.djl.ndarray.types.DataType.INT64, false).getLong();
        long max = labels.max().toType(ai.djl.ndarray.types.DataType.INT64, false).getLong();
        if (min < 0 || max >= classes) {
            throw new IllegalArgumentException("labels must be in [0, " + classes + "), got [" + min + ", " + max + "]");
        }
        NDArray logp = logits.logSoftmax(1);
        NDArray nll = labels.oneHot(classes, logits.getDataType()).mul(logp).sum(new int[] {1}).neg();
        if (labelSmoothing == 0) {
            return nll.mean();
        }
        NDArray uniform = logp.mean(new int[] {1}).neg();
        return Scalars.mul(nll, 1 - labelSmoothing).add(Scalars.mul(uniform, labelSmoothing)).mean();
    }

    /** T²·KL(softmax(teacher/T) ‖ softmax(student/T)) summed over classes, averaged over the batch. */
    public static NDArray logitDistillation(NDArray studentLogits, NDArray teacherLogits, double temperature) {
        return logitDistillation(studentLogits, List.of(teacherLogits), temperature);
    }

    /**
     * T²·KL(p̄ ‖ softmax(student/T)) with p̄ the mean over teachers of softmax(teacher_i/T), summed
     * over classes and averaged over the batch; one teacher is {@link #logitDistillation(NDArray,
     * NDArray, double)}. log p̄ is a log-sum-exp of the teachers' log-probabilities, so a class no
     * teacher believes in stays finite.
     */
    public static NDArray logitDistillation(NDArray studentLogits, List<NDArray> teacherLogits, double temperature) {
        if (teacherLogits.isEmpty()) {
            throw new IllegalArgumentException("logit distillation needs at least one teacher's logits");
        }
        for (NDArray t : teacherLogits) {
            if (!studentLogits.getShape().equals(t.getShape()) || studentLogits.getShape().dimension() != 2) {
                throw new IllegalArgumentException("student logits " + studentLogits.getShape()
                        + " and teacher logits " + t.getShape() + " must both be [B, C]");
            }
        }
        NDArray logPs = Scalars.div(studentLogits, temperature).logSoftmax(1);
        NDArray logPt;
        if (teacherLogits.size() == 1) {
            logPt = Scalars.div(teacherLogits.get(0).stopGradient(), temperature).logSoftmax(1);
        } else {
            NDList each = new NDList(teacherLogits.size());
            for (NDArray t : teacherLogits) {
                each.add(Scalars.div(t.stopGradient(), temperature).logSoftmax(1));
            }
            NDArray stacked = NDArrays.stack(each); // [n, B, C]
            NDArray max = stacked.max(new int[] {0}, true);
            logPt = stacked.sub(max).exp().mean(new int[] {0}).log().add(max.squeeze(0));
        }
        long b = studentLogits.getShape().get(0);
        return Scalars.mul(logPt.exp().mul(logPt.sub(logPs)).sum(), temperature * temperature / b);
    }

    /** Builds a {@link DistillationLoss}; defaults: l2, α = 1, γ = 0, T = 1, no label smoothing. */
    public static final class Builder extends LossWeights.Builder<Builder> {

        private Builder() {
            super(1);
        }

        @Override
        protected Builder self() {
            return this;
        }

        public DistillationLoss build() {
            return new DistillationLoss(lossWeights());
        }
    }
}
