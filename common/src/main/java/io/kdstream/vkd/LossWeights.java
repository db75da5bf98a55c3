package io.kdstream.vkd;

/**
 * The terms of the objective {@code ce + α·feature + γ·kd} (DESIGN §3): the one definition of the
 * loss settings, their defaults and their checks, shared by {@link DistillationLoss.Builder} and the
 * student's configuration builder through {@link Builder}.
 *
 * @param featureLoss    l2 or smooth_l1
 * @param alpha          weight α of the feature loss, &ge; 0 (0 = no feature distillation)
 * @param gamma          weight γ of logit distillation, &ge; 0 (0 disables it)
 * @param temperature    logit distillation temperature T &gt; 0
 * @param labelSmoothing cross-entropy label smoothing ε in [0, 1)
 */
public record LossWeights(FeatureLoss featureLoss, double alpha, double gamma, double temperature,
                          double labelSmoothing) {

    /** @throws IllegalArgumentException naming the setting that is out of range */
    public LossWeights {
        if (featureLoss == null) {
            throw new IllegalArgumentException("feature loss must not be null");
        }
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("need temperature > 0, got " + temperature);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("need 0 <= label smoothing < 1, got " + labelSmoothing);
        }
        if (!Double.isFinite(alpha) || !Double.isFinite(gamma) || alpha < 0 || gamma < 0) {
            throw new IllegalArgumentException("need alpha >= 0 and gamma >= 0 (finite), got " + alpha + " and " + gamma);
        }
    }

    /**
     * The loss setters of a DJL-style builder (l2, α = 1, γ = 0, no label smoothing; the temperature
     * default is the subclass's).
     *
     * @param <T> the builder itself, returned by every setter
     */
    public abstract static class Builder<T extends Builder<T>> {
        private FeatureLoss featureLoss = FeatureLoss.L2;
        private double alpha = 1;
        private double gamma = 0;
        private double temperature;
        private double labelSmoothing = 0;

        protected Builder(double defaultTemperature) {
            this.temperature = defaultTemperature;
        }

        protected abstract T self();

        /** Default {@link FeatureLoss#L2}. */
        public T optFeatureLoss(FeatureLoss featureLoss) {
            this.featureLoss = featureLoss;
            return self();
        }

        /** Weight α of the feature loss, &ge; 0 (default 1; 0 = no feature distillation). */
        public T optAlpha(double alpha) {
            this.alpha = alpha;
            return self();
        }

        /** Weight γ of logit distillation, &ge; 0 (default 0, which disables it). */
        public T optGamma(double gamma) {
            this.gamma = gamma;
            return self();
        }

        /** Logit distillation temperature T &gt; 0. */
        public T optTemperature(double temperature) {
            this.temperature = temperature;
            return self();
        }

        /** Cross-entropy label smoothing ε in [0, 1) (default 0). */
        public T optLabelSmoothing(double labelSmoothing) {
            this.labelSmoothing = labelSmoothing;
            return self();
        }

        /** All five settings from {@code weights}. */
        public T optLossWeights(LossWeights weights) {
            return optFeatureLoss(weights.featureLoss()).optAlpha(weights.alpha()).optGamma(weights.gamma())
                    .optTemperature(weights.temperature()).optLabelSmoothing(weights.labelSmoothing());
        }

        /** @throws IllegalArgumentException naming the setting that is out of range */
        protected LossWeights lossWeights() {
            return new LossWeights(featureLoss, alpha, gamma, temperature, labelSmoothing);
        }
    }
}
