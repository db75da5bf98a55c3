package io.kdstream.vkd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * The run's whitening (DESIGN.md §3, {@code --norm whiten}): a mean μ and a ZCA matrix
 * W = (Σ + εI)^(−1/2) estimated once from a fixed calibration set, so that every teacher of a run
 * whitens every batch with the same matrix: Z = (X − μ)·W. Unlike per-batch whitening
 * ({@link WhiteningNormalizer}, {@code whiten-batch}) the targets of a batch keep the teacher's
 * geometry, and a redone batch gets the same targets.
 *
 * <p>Σ is the biased covariance of the calibration features; the shrinkage is relative to their
 * mean variance: ε = shrinkage · tr(Σ)/d (default shrinkage {@value #DEFAULT_SHRINKAGE}), so it
 * means the same whatever the scale of the teacher's features, and keeps W finite for directions
 * the calibration set does not span. Computed in double precision on the CPU (EJML's symmetric
 * eigendecomposition; libtorch in DJL has no eigh), accumulating in a fixed order: the same
 * calibration features give the same W bit for bit.
 *
 * <p>{@link #sha256()} identifies it: SHA-256 of d (4-byte little-endian int), μ, W (row-major)
 * and ε (little-endian float64s). The manifest references it and every feature record carries it.
 */
public final class CalibratedWhitening {

    /** Default relative shrinkage: ε = 0.01 · tr(Σ)/d. */
    public static final double DEFAULT_SHRINKAGE = 1e-2;

    private final int dim;
    private final double[] mean;
    private final double[] matrix;
    private final double epsilon;
    private final String sha256;

    /** @param matrix W, d×d row-major */
    public CalibratedWhitening(double[] mean, double[] matrix, double epsilon) {
        this.dim = mean.length;
        if ((long) dim * dim != matrix.length) {
            throw new IllegalArgumentException("a " + dim + "-dim whitening needs a " + dim + "×" + dim + " matrix, got "
                    + matrix.length + " values");
        }
        if (!(epsilon > 0) || !Double.isFinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be positive and finite, got " + epsilon);
        }
        this.mean = mean.clone();
        this.matrix = matrix.clone();
        this.epsilon = epsilon;
        this.sha256 = digest(dim, this.mean, this.matrix, epsilon);
    }

    /**
     * The whitening of stored tensors that must hash to {@code sha256} (the key it was stored and
     * announced under).
     *
     * @throws IllegalStateException if they hash to anything else
     */
    public static CalibratedWhitening verified(double[] mean, double[] matrix, double epsilon, String sha256) {
        CalibratedWhitening w = new CalibratedWhitening(mean, matrix, epsilon);
        if (!w.sha256().equals(sha256)) {
            throw new IllegalStateException("the whitening stored under " + sha256 + " hashes to " + w.sha256());
        }
        return w;
    }

    /** Starts an estimate over calibration features of dimension {@code dim}. */
    public static Accumulator accumulator(int dim) {
        return new Accumulator(dim);
    }

    public int dim() {
        return dim;
    }

    public double[] mean() {
        return mean.clone();
    }

    /** W, d×d row-major (symmetric). */
    public double[] matrix() {
        return matrix.clone();
    }

    /** The absolute shrinkage ε that was added to Σ's diagonal. */
    public double epsilon() {
        return epsilon;
    }

    /** Lower-case hex SHA-256 (see the class comment). */
    public String sha256() {
        return sha256;
    }

    /** (X − μ)·W for row-major features [rows, d], in double precision. */
    public double[] whiten(float[] features, int rows) {
        DMatrixRMaj x = new DMatrixRMaj(rows, dim);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < dim; j++) {
                x.data[i * dim + j] = features[i * dim + j] - mean[j];
            }
        }
        DMatrixRMaj z = new DMatrixRMaj(rows, dim);
        CommonOps_DDRM.mult(x, DMatrixRMaj.wrap(dim, dim, matrix), z);
        return z.data;
    }

    /**
     * A normalizer that whitens on the features' device in float32: the teacher's per-batch cost
     * is one [B, d]×[d, d] matmul. μ and W live in {@code manager} (close it with the teacher).
     */
    public FeatureNormalizer normalizer(NDManager manager) {
        NDArray mu = manager.create(mean, new Shape(1, dim)).toType(DataType.FLOAT32, false);
        NDArray w = manager.create(matrix, new Shape(dim, dim)).toType(DataType.FLOAT32, false);
        return new FeatureNormalizer() {
            @Override
            public NDArray normalize(NDArray features) {
                Normalization.requireBatch(features, 1);
                if (features.getShape().get(1) != dim) {
                    throw new IllegalArgumentException("whitening is " + dim + "-dim, features are "
                            + features.getShape());
                }
                DataType in = features.getDataType();
                NDArray x = in == DataType.FLOAT32 ? features : features.toType(DataType.FLOAT32, false);
                NDArray z = x.sub(mu.toDevice(x.getDevice(), false)).matMul(w.toDevice(x.getDevice(), false));
                return in == DataType.FLOAT32 ? z : z.toType(in, false);
            }

            @Override
            public Normalization kind() {
                return Normalization.WHITEN;
            }
        };
    }

    private static String digest(int dim, double[] mean, double[] matrix, double epsilon) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(8 * 4096).order(ByteOrder.LITTLE_ENDIAN);
            buf.putInt(dim);
            for (double[] part : new double[][] {mean, matrix, {epsilon}}) {
                for (double v : part) {
                    if (buf.remaining() < 8) {
                        md.update(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    buf.putDouble(v);
                }
            }
            md.update(buf.array(), 0, buf.position());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Sums calibration features batch by batch (in the order given: the order is part of the
     * result's bits). Memory is O(d²), whatever the calibration set's size.
     */
    public static final class Accumulator {
        private final int dim;
        private final double[] shift;
        private final double[] sum;
        private final DMatrixRMaj scatter;
        private long count;

        private Accumulator(int dim) {
            if (dim <= 0) {
                throw new IllegalArgumentException("dim must be positive, got " + dim);
            }
            this.dim = dim;
            this.shift = new double[dim];
            this.sum = new double[dim];
            this.scatter = new DMatrixRMaj(dim, dim);
        }

        /** Adds {@code rows} samples of row-major features [rows, d]. */
        public Accumulator add(float[] features, int rows) {
            if ((long) rows * dim != features.length) {
                throw new IllegalArgumentException("expected " + rows + "×" + dim + " values, got " + features.length);
            }
            if (rows == 0) {
                return this;
            }
            if (count == 0) {
                // sums of (x − first sample) keep the covariance accurate when the mean dominates
                for (int j = 0; j < dim; j++) {
                    shift[j] = features[j];
                }
            }
            DMatrixRMaj x = new DMatrixRMaj(rows, dim);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < dim; j++) {
                    float v = features[i * dim + j];
                    if (!Float.isFinite(v)) {
                        throw new IllegalArgumentException("calibration features contain non-finite values");
                    }
                    double c = v - shift[j];
                    x.data[i * dim + j] = c;
                    sum[j] += c;
                }
            }
            CommonOps_DDRM.multAddTransA(x, x, scatter);
            count += rows;
            return this;
        }

        /** Samples added so far. */
        public long count() {
            return count;
        }

        /** μ and W = (Σ + εI)^(−1/2) with ε = {@code shrinkage} · tr(Σ)/d. */
        public CalibratedWhitening finish(double shrinkage) {
            if (!(shrinkage > 0) || !Double.isFinite(shrinkage)) {
                throw new IllegalArgumentException("shrinkage must be positive and finite, got " + shrinkage);
            }
            if (count < 2) {
                throw new IllegalStateException("whitening needs at least 2 calibration samples, got " + count);
            }
            double[] mean = new double[dim];
            double[] m = new double[dim];
            for (int j = 0; j < dim; j++) {
                m[j] = sum[j] / count;
                mean[j] = shift[j] + m[j];
            }
            // Σ = S/n − m·mᵀ over the shifted samples
            DMatrixRMaj cov = new DMatrixRMaj(dim, dim);
            double trace = 0;
            for (int i = 0; i < dim; i++) {
                for (int j = 0; j < dim; j++) {
                    cov.data[i * dim + j] = scatter.data[i * dim + j] / count - m[i] * m[j];
                }
                trace += cov.data[i * dim + i];
            }
            // exact symmetry, so the eigendecomposition sees the same matrix whatever the rounding above
            for (int i = 0; i < dim; i++) {
                for (int j = i + 1; j < dim; j++) {
                    double v = 0.5 * (cov.data[i * dim + j] + cov.data[j * dim + i]);
                    cov.data[i * dim + j] = v;
                    cov.data[j * dim + i] = v;
                }
            }
            double epsilon = shrinkage * Math.max(trace, 0) / dim;
            if (!(epsilon > 0)) {
                throw new IllegalStateException("calibration features have no variance: cannot whiten them");
            }
            DMatrixRMaj w = WhiteningNormalizer.inverseSqrt(cov, epsilon);
            for (int i = 0; i < dim; i++) {
                for (int j = i + 1; j < dim; j++) {
                    double v = 0.5 * (w.data[i * dim + j] + w.data[j * dim + i]);
                    w.data[i * dim + j] = v;
                    w.data[j * dim + i] = v;
                }
            }
            return new CalibratedWhitening(mean, w.data, epsilon);
        }
    }
}
