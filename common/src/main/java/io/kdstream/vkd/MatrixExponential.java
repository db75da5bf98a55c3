package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

import io.kdstream.autograd.Scalars;

/**
 * Differentiable matrix exponential from matMul and inverse only (DJL has no matrix_exp): Padé
 * degree-13 approximant with scaling and squaring (Higham 2005, the algorithm behind scipy's expm).
 * Its backward error is below double precision unit roundoff for ‖A‖₁ ≤ θ₁₃, so it agrees with
 * {@code torch.matrix_exp} to rounding in float64, and its autograd derivative approximates the
 * Fréchet derivative of exp equally well (Al-Mohy and Higham 2009).
 */
public final class MatrixExponential {

    /** ‖A‖₁ bound under which the [13/13] Padé approximant is accurate to double precision. */
    static final double THETA_13 = 5.371920351148152;

    private static final double[] B = {
        64764752532480000d, 32382376266240000d, 7771770303897600d, 1187353796428800d,
        129060195264000d, 10559470521600d, 670442572800d, 33522128640d, 1323241920d,
        40840800d, 960960d, 16380d, 182d, 1d
    };

    private MatrixExponential() {}

    /** exp(a) for a square matrix a [n, n]. */
    public static NDArray expm(NDArray a) {
        return leadingColumns(a, requireSquare(a));
    }

    /**
     * The first {@code k} columns of exp(a) [n, k]. The last squaring multiplies by the thin block
     * only, which halves its cost when k ≪ n.
     */
    public static NDArray leadingColumns(NDArray a, int k) {
        int n = requireSquare(a);
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k must be in [1, " + n + "], got " + k);
        }
        NDManager m = a.getManager();
        // The scaling exponent comes from a detached norm: it selects the algorithm, it is not
        // differentiated (torch.matrix_exp does the same).
        double norm1;
        try (NDArray detached = a.stopGradient(); NDArray colSums = detached.abs().sum(new int[] {0});
                NDArray max = colSums.max()) {
            norm1 = max.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        }
        if (!Double.isFinite(norm1)) {
            throw new ArithmeticException("matrix exponential of a non-finite matrix");
        }
        int s = norm1 <= THETA_13 ? 0 : (int) Math.ceil(Math.log(norm1 / THETA_13) / Math.log(2));
        NDArray x = s == 0 ? a : Scalars.div(a, Math.pow(2, s));
        NDArray id = m.eye(n, n, 0, a.getDataType()).toDevice(a.getDevice(), false);
        NDArray x2 = x.matMul(x);
        NDArray x4 = x2.matMul(x2);
        NDArray x6 = x4.matMul(x2);
        NDArray u = x.matMul(x6.matMul(Scalars.mul(x6, B[13]).add(Scalars.mul(x4, B[11])).add(Scalars.mul(x2, B[9])))
                .add(Scalars.mul(x6, B[7])).add(Scalars.mul(x4, B[5])).add(Scalars.mul(x2, B[3])).add(Scalars.mul(id, B[1])));
        NDArray v = x6.matMul(Scalars.mul(x6, B[12]).add(Scalars.mul(x4, B[10])).add(Scalars.mul(x2, B[8])))
                .add(Scalars.mul(x6, B[6])).add(Scalars.mul(x4, B[4])).add(Scalars.mul(x2, B[2])).add(Scalars.mul(id, B[0]));
        NDArray inv = v.sub(u).inverse();
        NDArray numerator = v.add(u);
        if (s == 0) {
            return k == n ? inv.matMul(numerator) : inv.matMul(columns(numerator, k));
        }
        NDArray r = inv.matMul(numerator);
        for (int i = 0; i < s - 1; i++) {
            r = r.matMul(r);
        }
        return r.matMul(k == n ? r : columns(r, k));
    }

    static NDArray columns(NDArray a, int k) {
        return a.get(new NDIndex(":, :{}", k));
    }

    private static int requireSquare(NDArray a) {
        if (a.getShape().dimension() != 2 || a.getShape().get(0) != a.getShape().get(1)) {
            throw new IllegalArgumentException("expected a square matrix, got shape " + a.getShape());
        }
        return Math.toIntExact(a.getShape().get(0));
    }
}
