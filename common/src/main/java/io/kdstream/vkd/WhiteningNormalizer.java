package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Per-batch ZCA whitening ({@code whiten-batch}): Z = (X − mean_B)·(Σ + εI)^(−1/2), so cov(Z) ≈ I
 * on the span of the data. With B ≤ d_t a batch's targets come out mutually orthogonal with equal
 * norms; the run-level alternative is {@link CalibratedWhitening} ({@code whiten}).
 *
 * <p>Σ is the batch's biased covariance, or, with {@link Builder#optMomentum}, an exponential
 * moving average of batch covariances (PyTorch BatchNorm convention: Σ ← (1−m)·Σ + m·Σ_B, the
 * first batch initializes it) — the remedy when B ≤ d_t leaves Σ_B rank-deficient. Centering always
 * uses the batch mean, so a published batch has zero mean.
 *
 * <p>Exact, on the CPU in double precision with EJML's symmetric eigendecomposition (no gradients
 * are needed on the teacher side). Without a running covariance and with B &lt; d_t it works on the
 * B×B Gram matrix instead, by the push-through identity Xc(XcᵀXc/B + εI)^(−1/2) =
 * (XcXcᵀ/B + εI)^(−1/2)Xc: O(B²d + B³) rather than O(d³). With a running covariance the d×d
 * factorization is O(d³) per batch (seconds at d = 3024).
 *
 * <p>Stateful with a running covariance: use one instance per stream and do not share it between
 * threads.
 */
public final class WhiteningNormalizer implements FeatureNormalizer {

    private final double epsilon;
    private final Double momentum;
    private DMatrixRMaj runningCov;

    private WhiteningNormalizer(Builder b) {
        epsilon = b.epsilon;
        momentum = b.momentum;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Normalization kind() {
        return Normalization.WHITEN_BATCH;
    }

    @Override
    public NDArray normalize(NDArray features) {
        Normalization.requireBatch(features, 2);
        int b = Math.toIntExact(features.getShape().get(0));
        int d = Math.toIntExact(features.getShape().get(1));
        DMatrixRMaj xc = new DMatrixRMaj(b, d, true, features.toType(DataType.FLOAT64, false).toDoubleArray());
        for (double v : xc.data) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("teacher features contain non-finite values");
            }
        }
        for (int j = 0; j < d; j++) {
            double mean = 0;
            for (int i = 0; i < b; i++) {
                mean += xc.get(i, j);
            }
            mean /= b;
            for (int i = 0; i < b; i++) {
                xc.set(i, j, xc.get(i, j) - mean);
            }
        }
        DMatrixRMaj z = new DMatrixRMaj(b, d);
        if (momentum == null && b < d) {
            DMatrixRMaj gram = new DMatrixRMaj(b, b);
            CommonOps_DDRM.multTransB(1.0 / b, xc, xc, gram);
            CommonOps_DDRM.mult(inverseSqrt(gram, epsilon), xc, z);
        } else {
            DMatrixRMaj cov = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(1.0 / b, xc, xc, cov);
            if (momentum != null) {
                if (runningCov == null) {
                    runningCov = cov.copy();
                } else {
                    CommonOps_DDRM.add(1 - momentum, runningCov, momentum, cov, runningCov);
                }
                cov = runningCov;
            }
            CommonOps_DDRM.mult(xc, inverseSqrt(cov, epsilon), z);
        }
        return features.getManager().create(z.data, features.getShape()).toType(features.getDataType(), false);
    }

    /** (S + εI)^(−1/2) for a symmetric positive semi-definite S. */
    static DMatrixRMaj inverseSqrt(DMatrixRMaj s, double epsilon) {
        int n = s.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(s.copy())) {
            throw new ArithmeticException("eigendecomposition of the covariance failed (non-finite features?)");
        }
        DMatrixRMaj vectors = new DMatrixRMaj(n, n);
        DMatrixRMaj scaled = new DMatrixRMaj(n, n);
        for (int e = 0; e < n; e++) {
            // Rounding can make a zero eigenvalue slightly negative; the shrinkage keeps 1/sqrt finite.
            double scale = 1 / Math.sqrt(Math.max(eig.getEigenvalue(e).getReal(), 0) + epsilon);
            DMatrixRMaj v = eig.getEigenVector(e);
            for (int i = 0; i < n; i++) {
                vectors.set(i, e, v.get(i));
                scaled.set(i, e, v.get(i) * scale);
            }
        }
        DMatrixRMaj out = new DMatrixRMaj(n, n);
        CommonOps_DDRM.multTransB(scaled, vectors, out);
        return out;
    }

    /** Builds a {@link WhiteningNormalizer}. */
    public static final class Builder {
        private double epsilon = 1e-3;
        private Double momentum;

        private Builder() {}

        /** Shrinkage ε added to the covariance's diagonal; default 1e-3. */
        public Builder optEpsilon(double epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /** Use a running covariance with this weight for the newest batch (0 &lt; m ≤ 1). */
        public Builder optMomentum(double momentum) {
            this.momentum = momentum;
            return this;
        }

        public WhiteningNormalizer build() {
            if (!(epsilon > 0) || !Double.isFinite(epsilon)) {
                throw new IllegalArgumentException("epsilon must be positive and finite, got " + epsilon);
            }
            if (momentum != null && !(momentum > 0 && momentum <= 1)) {
                throw new IllegalArgumentException("momentum must be in (0, 1], got " + momentum);
            }
            return new WhiteningNormalizer(this);
        }
    }
}
