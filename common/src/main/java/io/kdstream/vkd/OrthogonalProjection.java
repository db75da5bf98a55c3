package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;

import io.kdstream.autograd.Scalars;

/**
 * Maps student features [B, d_s] to the teacher space [B, d_t] through a weight P [d_t, d_s] that
 * stays on the Stiefel manifold (PᵀP = I when d_t ≥ d_s, PPᵀ = I otherwise).
 *
 * <p>Semantics are those of {@code torch.nn.utils.parametrizations.orthogonal(nn.Linear(d_s, d_t,
 * bias=False), orthogonal_map=...)}: the trainable parameter {@code X} is PyTorch's
 * {@code parametrizations.weight.original} [d_t, d_s]; with n = max and k = min of the dims, X is
 * transposed to tall n×k when d_t &lt; d_s, its lower triangle is padded to n×n, A = X̃ − X̃ᵀ,
 * Q = map(A)[:, :k], P = base·Q (transposed back when d_t &lt; d_s). Like PyTorch, X starts at −I
 * (so A = 0 and P = base[:, :k]). PyTorch initializes {@code base} to a random orthogonal matrix
 * built by QR; here base is the identity (no buffer, no n×n matmul) unless {@link
 * Builder#optRandomBase(long)} asks for a seeded random orthogonal one.
 *
 * <p>The default {@link Path#FAST} path never forms an n×n matrix: A's lower-right block is zero, so
 * with A = [[A₁₁, −Mᵀ], [M, 0]] and C = MᵀM, exp(A)[:, :k] = [F; M·G] where [F; G] =
 * exp(N)[:, :k] for the 2k×2k matrix N = [[A₁₁, −C], [I, 0]], and cayley(A)[:, :k] = [2S⁻¹ − I;
 * M·S⁻¹] with S = I − A₁₁/2 + C/4. Cost O(n·k² + k³) instead of O(n³).
 */
public final class OrthogonalProjection extends AbstractBlock {

    /** How Q = map(A)[:, :k] is computed. */
    public enum Path {
        /** O(n·k² + k³) through the 2k-dimensional invariant subspace (default). */
        FAST,
        /** O(n³) on the full n×n matrix, exactly as PyTorch does; the reference for tests. */
        DENSE
    }

    private static final byte VERSION = 1;

    private final int studentDim;
    private final int teacherDim;
    private final OrthogonalMap map;
    private final Path path;
    private final Parameter raw;
    private final Parameter base;

    private OrthogonalProjection(Builder b) {
        super(VERSION);
        studentDim = b.studentDim;
        teacherDim = b.teacherDim;
        map = b.map;
        path = b.path;
        int n = Math.max(studentDim, teacherDim);
        raw = addParameter(Parameter.builder()
                .setName("original")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(teacherDim, studentDim))
                // PyTorch's right_inverse returns −I: A = 0 at start, so P starts at base[:, :k].
                .optInitializer((m, shape, dtype) -> {
                    try (NDArray eye = m.eye((int) shape.get(0), (int) shape.get(1), 0, dtype)) {
                        return eye.neg();
                    }
                })
                .build());
        if (b.baseSeed == null) {
            base = null;
        } else {
            long seed = b.baseSeed;
            int k = Math.min(studentDim, teacherDim);
            base = addParameter(Parameter.builder()
                    .setName("base")
                    .setType(Parameter.Type.OTHER)
                    .optShape(new Shape(n, n))
                    .optRequiresGrad(false)
                    .optInitializer((m, shape, dtype) -> {
                        // create() aliases a Java buffer that dies with the handle: keep a libtorch copy.
                        try (NDArray f64 = m.create(randomOrthogonal(n, k, seed), new Shape(n, n))) {
                            NDArray owned = f64.duplicate();
                            if (dtype == DataType.FLOAT64) {
                                return owned;
                            }
                            try (owned) {
                                return owned.toType(dtype, false);
                            }
                        }
                    })
                    .build());
        }
    }

    /** A builder; {@link Builder#setDims} is required. */
    public static Builder builder() {
        return new Builder();
    }

    public int getStudentDim() {
        return studentDim;
    }

    public int getTeacherDim() {
        return teacherDim;
    }

    public OrthogonalMap getMap() {
        return map;
    }

    public Path getPath() {
        return path;
    }

    /** The raw parameter X [d_t, d_s] (PyTorch's {@code parametrizations.weight.original}). */
    public Parameter getRawParameter() {
        return raw;
    }

    /** The trivialization base [n, n], or null when it is the identity. */
    public Parameter getBaseParameter() {
        return base;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray input = inputs.singletonOrThrow();
        Shape s = input.getShape();
        if (s.dimension() != 2 || s.get(1) != studentDim) {
            throw new IllegalArgumentException(
                    "student features must be [B, " + studentDim + "], got " + s);
        }
        NDArray x = store.getValue(raw, input.getDevice(), training);
        if (input.getDataType() != x.getDataType()) {
            throw new IllegalArgumentException("student features are " + input.getDataType()
                    + " but the projection is " + x.getDataType());
        }
        NDArray b = base == null ? null : store.getValue(base, input.getDevice(), training);
        NDArray p = weight(input.getManager(), x, b, map, path);
        return new NDList(input.matMul(p.transpose()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), teacherDim)};
    }

    /** P [d_t, d_s] from this block's current parameters; arrays are attached to {@code manager}. */
    public NDArray weight(NDManager manager) {
        NDArray b = base == null ? null : base.getArray();
        return weight(manager, raw.getArray(), b, map, path);
    }

    /** ‖PᵀP − I‖_F (‖PPᵀ − I‖_F when d_t &lt; d_s) of the current weight; a training metric. */
    public double orthogonalityError() {
        try (NDManager scratch = raw.getArray().getManager().newSubManager()) {
            return orthogonalityError(weight(scratch));
        }
    }

    /**
     * P [d_t, d_s] = the PyTorch parametrization of raw {@code x} [d_t, d_s] with {@code base}
     * [n, n] (null for identity). Differentiable in x. Every intermediate is attached to {@code
     * scratch}, so x and base may live in a long-lived (parameter) manager.
     */
    public static NDArray weight(NDManager scratch, NDArray x, NDArray base, OrthogonalMap map, Path path) {
        Shape xs = x.getShape();
        if (xs.dimension() != 2) {
            throw new IllegalArgumentException("X must be a matrix [d_t, d_s], got " + xs);
        }
        int dT = Math.toIntExact(xs.get(0));
        int dS = Math.toIntExact(xs.get(1));
        int n = Math.max(dT, dS);
        int k = Math.min(dT, dS);
        if (base != null && !base.getShape().equals(new Shape(n, n))) {
            throw new IllegalArgumentException("base must be [" + n + ", " + n + "], got " + base.getShape());
        }
        boolean transposed = dT < dS;
        NDArray tallX = transposed ? own(x.transpose(), scratch) : x;
        // tril: the mask is created in scratch and goes first, so the product lands in scratch too.
        NDArray mask = lowerTriangle(scratch, n, k, x);
        NDArray tall = mask.mul(tallX);
        // Square: there is no zero block to exploit, both paths are the dense computation.
        NDArray q = path == Path.FAST && n > k ? fastColumns(tall, n, k, map) : denseColumns(tall, n, k, map);
        if (base != null) {
            q = own(base.matMul(q), scratch);
        }
        return transposed ? q.transpose() : q;
    }

    /**
     * ‖PᵀP − I‖_F, or ‖PPᵀ − I‖_F for a wide P: zero exactly on the Stiefel manifold. Temporaries
     * go to p's manager, so pass a per-step P (or use the instance method).
     */
    public static double orthogonalityError(NDArray p) {
        Shape s = p.getShape();
        NDArray gram = s.get(0) >= s.get(1) ? p.transpose().matMul(p) : p.matMul(p.transpose());
        int k = Math.toIntExact(gram.getShape().get(0));
        NDManager m = gram.getManager();
        return gram.sub(m.eye(k, k, 0, gram.getDataType()).toDevice(gram.getDevice(), false))
                .norm().toType(DataType.FLOAT64, false).getDouble();
    }

    private static NDArray fastColumns(NDArray tall, int n, int k, OrthogonalMap map) {
        NDManager m = tall.getManager();
        DataType dtype = tall.getDataType();
        NDArray l = tall.get(new NDIndex(":{}, :", k));
        NDArray mm = tall.get(new NDIndex("{}:, :", k));
        NDArray a11 = l.sub(l.transpose());
        NDArray c = mm.transpose().matMul(mm);
        NDArray id = m.eye(k, k, 0, dtype).toDevice(tall.getDevice(), false);
        if (map == OrthogonalMap.CAYLEY) {
            NDArray sInv = id.sub(Scalars.div(a11, 2)).add(Scalars.div(c, 4)).inverse();
            return NDArrays.concat(new NDList(Scalars.mul(sInv, 2).sub(id), mm.matMul(sInv)), 0);
        }
        // Balance N by diag(I, βI) with β = ‖C‖^(-1/2): both off-diagonal blocks get norm ~√‖C‖
        // instead of ‖C‖ and 1, which means fewer squarings and less rounding. exp commutes with the
        // similarity, so G = β·(lower block). β is a detached constant.
        double cNorm;
        try (NDArray d = c.stopGradient(); NDArray sums = d.abs().sum(new int[] {0}); NDArray mx = sums.max()) {
            cNorm = mx.toType(DataType.FLOAT64, false).getDouble();
        }
        double beta = 1 / Math.sqrt(Math.max(1, cNorm));
        NDArray top = NDArrays.concat(new NDList(a11, Scalars.mul(c, -beta)), 1);
        NDArray bottom = NDArrays.concat(new NDList(Scalars.div(id, beta), m.zeros(new Shape(k, k), dtype, tall.getDevice())), 1);
        NDArray e = MatrixExponential.leadingColumns(NDArrays.concat(new NDList(top, bottom), 0), k);
        NDArray f = e.get(new NDIndex(":{}, :", k));
        NDArray g = Scalars.mul(e.get(new NDIndex("{}:, :", k)), beta);
        return NDArrays.concat(new NDList(f, mm.matMul(g)), 0);
    }

    private static NDArray denseColumns(NDArray tall, int n, int k, OrthogonalMap map) {
        NDManager m = tall.getManager();
        DataType dtype = tall.getDataType();
        NDArray padded = n == k ? tall
                : NDArrays.concat(new NDList(tall, m.zeros(new Shape(n, n - k), dtype, tall.getDevice())), 1);
        NDArray a = padded.sub(padded.transpose());
        if (map == OrthogonalMap.MATRIX_EXP) {
            return MatrixExponential.leadingColumns(a, k);
        }
        NDArray id = m.eye(n, n, 0, dtype).toDevice(tall.getDevice(), false);
        NDArray half = Scalars.div(a, 2);
        NDArray rhs = id.add(half);
        return id.sub(half).inverse().matMul(n == k ? rhs : MatrixExponential.columns(rhs, k));
    }

    /** 1 where row ≥ column, in the [n, k] tall orientation. */
    private static NDArray lowerTriangle(NDManager scratch, int n, int k, NDArray like) {
        NDArray rows = scratch.arange(0, n, 1, DataType.INT32, like.getDevice()).reshape(n, 1);
        NDArray cols = scratch.arange(0, k, 1, DataType.INT32, like.getDevice()).reshape(1, k);
        return rows.gte(cols).toType(like.getDataType(), false);
    }

    private static NDArray own(NDArray a, NDManager scratch) {
        a.attach(scratch);
        return a;
    }

    /**
     * A seeded random orthogonal n×n matrix (row-major) whose first k columns are a uniformly random
     * orthonormal frame: QR of a Gaussian n×k matrix with the full Q kept (O(n²k), not O(n³)) and
     * the signs fixed by diag(R), as PyTorch's {@code _make_orthogonal} does.
     */
    static double[] randomOrthogonal(int n, int k, long seed) {
        Random rng = new Random(seed);
        DMatrixRMaj g = new DMatrixRMaj(n, k);
        for (int i = 0; i < g.data.length; i++) {
            g.data[i] = rng.nextGaussian();
        }
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(n, k);
        if (!qr.decompose(g)) {
            throw new ArithmeticException("QR of a random matrix failed");
        }
        DMatrixRMaj q = qr.getQ(null, false);
        DMatrixRMaj r = qr.getR(null, true);
        for (int j = 0; j < k; j++) {
            if (r.get(j, j) < 0) {
                for (int i = 0; i < n; i++) {
                    q.set(i, j, -q.get(i, j));
                }
            }
        }
        return q.data;
    }

    /** Builds an {@link OrthogonalProjection} in DJL style. */
    public static final class Builder {
        private int studentDim;
        private int teacherDim;
        private OrthogonalMap map = OrthogonalMap.MATRIX_EXP;
        private Path path = Path.FAST;
        private Long baseSeed;

        private Builder() {}

        /** Student feature size d_s and teacher feature size d_t (required). */
        public Builder setDims(int studentDim, int teacherDim) {
            this.studentDim = studentDim;
            this.teacherDim = teacherDim;
            return this;
        }

        /** Orthogonal map; default {@link OrthogonalMap#MATRIX_EXP}. */
        public Builder optMap(OrthogonalMap map) {
            this.map = map;
            return this;
        }

        /** Computation path; default {@link Path#FAST}. */
        public Builder optPath(Path path) {
            this.path = path;
            return this;
        }

        /**
         * Use a frozen, seeded random orthogonal base (PyTorch's default trivialization) instead of
         * the identity. Costs an n×n buffer and an n×n·n×k matmul per step.
         */
        public Builder optRandomBase(long seed) {
            this.baseSeed = seed;
            return this;
        }

        public OrthogonalProjection build() {
            if (studentDim < 1 || teacherDim < 1) {
                throw new IllegalArgumentException(
                        "dims must be positive, got d_s=" + studentDim + ", d_t=" + teacherDim);
            }
            if (map == null || path == null) {
                throw new IllegalArgumentException("map and path must not be null");
            }
            return new OrthogonalProjection(this);
        }
    }
}
