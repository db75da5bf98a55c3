package io.kdstream.vkd;

import static io.kdstream.vkd.Compare.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NormalizationTest {
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void close() {
        root.close();
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT64", "FLOAT32"})
    void layerAndBatchMatchPyTorch(DataType dtype) {
        Fixture f = Fixture.load("normalizers");
        double tol = dtype == DataType.FLOAT64 ? 1e-12 : 1e-5;
        try (NDManager m = root.newSubManager()) {
            NDArray x = f.array(m, "features", dtype);
            NDArray layer = Normalization.LAYER.create().normalize(x);
            NDArray batch = Normalization.BATCH.create().normalize(x);
            assertThat(layer.getDataType()).isEqualTo(dtype);
            assertClose("layer", layer, f.doubles("layer"), tol);
            assertClose("batch", batch, f.doubles("batch"), tol);
            assertClose("none", Normalization.NONE.create().normalize(x), x.toType(DataType.FLOAT64, false).toDoubleArray(), 0);
        }
    }

    @Test
    void halfPrecisionIsNormalizedInFloat32() {
        Fixture f = Fixture.load("normalizers");
        try (NDManager m = root.newSubManager()) {
            NDArray x = f.array(m, "features", DataType.FLOAT16);
            NDArray layer = Normalization.LAYER.create().normalize(x);
            assertThat(layer.getDataType()).isEqualTo(DataType.FLOAT16);
            // f16 input rounding (~5e-4 relative to a mean of 1.5 and std of 3) dominates.
            assertClose("layer f16", layer, f.doubles("layer"), 3e-3);
        }
    }

    @Test
    void whiteningMakesTheCovarianceTheIdentityWhenTheBatchIsLarge() {
        int b = 256;
        int d = 16;
        double[][] mix = randomMatrix(new Random(5), d, d, 1.0);
        try (NDManager m = root.newSubManager()) {
            NDArray x = m.create(correlated(new Random(6), b, mix));
            NDArray z = WhiteningNormalizer.builder().optEpsilon(1e-9).build().normalize(x);
            DMatrixRMaj zm = new DMatrixRMaj(b, d, true, z.toDoubleArray());
            DMatrixRMaj cov = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(1.0 / b, zm, zm, cov);
            DMatrixRMaj diff = CommonOps_DDRM.subtract(cov, CommonOps_DDRM.identity(d), null);
            assertThat(NormOps_DDRM.normF(diff)).isLessThan(1e-6);
            // And the input really was correlated, so the test can fail.
            DMatrixRMaj xm = new DMatrixRMaj(b, d, true, x.toDoubleArray());
            CommonOps_DDRM.multTransA(1.0 / b, xm, xm, cov);
            assertThat(NormOps_DDRM.normF(CommonOps_DDRM.subtract(cov, CommonOps_DDRM.identity(d), null)))
                    .isGreaterThan(1.0);
        }
    }

    /** B ≤ d_t takes the Gram path; the reference goes through an SVD of the centered batch instead. */
    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT64", "FLOAT32"})
    void smallBatchWhiteningEqualsAnExactSvdReference(DataType dtype) {
        int b = 12;
        int d = 40;
        double eps = 1e-2;
        double[][] data = correlated(new Random(8), b, randomMatrix(new Random(9), d, d, 1.0));
        try (NDManager m = root.newSubManager()) {
            NDArray x = m.create(data).toType(dtype, false);
            double[] input = x.toType(DataType.FLOAT64, false).toDoubleArray();
            NDArray z = WhiteningNormalizer.builder().optEpsilon(eps).build().normalize(x);
            assertThat(z.getDataType()).isEqualTo(dtype);
            assertClose("whitened", z, svdWhiten(input, b, d, eps), dtype == DataType.FLOAT64 ? 1e-10 : 1e-5);
        }
    }

    /** With a running covariance, Z = Xc·W where W is symmetric and W(Σ_run + εI)W = I. */
    @Test
    void runningCovarianceWhitensWithTheAverageOfBatches() {
        int b = 40;
        int d = 10;
        double eps = 1e-3;
        WhiteningNormalizer norm = WhiteningNormalizer.builder().optEpsilon(eps).optMomentum(0.5).build();
        try (NDManager m = root.newSubManager()) {
            double[][] first = correlated(new Random(1), b, randomMatrix(new Random(2), d, d, 1.0));
            double[][] second = correlated(new Random(3), b, randomMatrix(new Random(4), d, d, 2.0));
            norm.normalize(m.create(first));
            NDArray z = norm.normalize(m.create(second));
            DMatrixRMaj running = CommonOps_DDRM.add(0.5, covariance(first), 0.5, covariance(second), null);
            DMatrixRMaj xc = centered(second);
            DMatrixRMaj zm = new DMatrixRMaj(b, d, true, z.toDoubleArray());
            // W = (XcᵀXc)⁻¹XcᵀZ (Xc has full column rank since B > d).
            DMatrixRMaj xtx = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(xc, xc, xtx);
            DMatrixRMaj xtz = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(xc, zm, xtz);
            DMatrixRMaj w = new DMatrixRMaj(d, d);
            assertThat(CommonOps_DDRM.solve(xtx, xtz, w)).isTrue();
            DMatrixRMaj shrunk = CommonOps_DDRM.add(running, eps, CommonOps_DDRM.identity(d), null);
            DMatrixRMaj tmp = new DMatrixRMaj(d, d);
            DMatrixRMaj wsw = new DMatrixRMaj(d, d);
            CommonOps_DDRM.mult(w, shrunk, tmp);
            CommonOps_DDRM.mult(tmp, w, wsw);
            assertThat(NormOps_DDRM.normF(CommonOps_DDRM.subtract(wsw, CommonOps_DDRM.identity(d), null)))
                    .isLessThan(1e-8);
            DMatrixRMaj wt = CommonOps_DDRM.transpose(w, null);
            assertThat(NormOps_DDRM.normF(CommonOps_DDRM.subtract(w, wt, null))).isLessThan(1e-8);
        }
    }

    @Test
    void rejectsBadInput() {
        try (NDManager m = root.newSubManager()) {
            assertThatThrownBy(() -> Normalization.BATCH.create().normalize(m.zeros(new Shape(1, 4))))
                    .hasMessageContaining("B >= 2");
            assertThatThrownBy(() -> Normalization.LAYER.create().normalize(m.zeros(new Shape(4))))
                    .hasMessageContaining("[B, d_t]");
            assertThatThrownBy(() -> Normalization.WHITEN_BATCH.create()
                            .normalize(m.create(new double[][] {{1, Double.NaN}, {0, 1}})))
                    .hasMessageContaining("non-finite");
            assertThatThrownBy(Normalization.WHITEN::create).hasMessageContaining("whiten-batch");
            assertThat(Normalization.fromConfigName("whiten-batch")).isEqualTo(Normalization.WHITEN_BATCH);
            assertThat(Normalization.WHITEN_BATCH.configName()).isEqualTo("whiten-batch");
            assertThatThrownBy(() -> Normalization.fromConfigName("zca")).hasMessageContaining("whiten");
            assertThatThrownBy(() -> WhiteningNormalizer.builder().optMomentum(0).build())
                    .hasMessageContaining("momentum");
        }
    }

    private static double[] svdWhiten(double[] input, int b, int d, double eps) {
        DMatrixRMaj xc = centered(toRows(input, b, d));
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(b, d, true, true, true);
        assertThat(svd.decompose(xc.copy())).isTrue();
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj s = svd.getW(null);
        DMatrixRMaj vt = svd.getV(null, true);
        for (int i = 0; i < Math.min(s.numRows, s.numCols); i++) {
            double sv = s.get(i, i);
            s.set(i, i, sv / Math.sqrt(sv * sv / b + eps));
        }
        DMatrixRMaj us = new DMatrixRMaj(b, s.numCols);
        CommonOps_DDRM.mult(u, s, us);
        DMatrixRMaj z = new DMatrixRMaj(b, d);
        CommonOps_DDRM.mult(us, vt, z);
        return z.data;
    }

    private static DMatrixRMaj centered(double[][] rows) {
        DMatrixRMaj x = new DMatrixRMaj(rows);
        DMatrixRMaj mean = CommonOps_DDRM.sumCols(x, null);
        CommonOps_DDRM.scale(1.0 / x.numRows, mean);
        for (int i = 0; i < x.numRows; i++) {
            for (int j = 0; j < x.numCols; j++) {
                x.add(i, j, -mean.get(j));
            }
        }
        return x;
    }

    private static DMatrixRMaj covariance(double[][] rows) {
        DMatrixRMaj xc = centered(rows);
        DMatrixRMaj cov = new DMatrixRMaj(xc.numCols, xc.numCols);
        CommonOps_DDRM.multTransA(1.0 / xc.numRows, xc, xc, cov);
        return cov;
    }

    private static double[][] toRows(double[] flat, int b, int d) {
        double[][] rows = new double[b][d];
        for (int i = 0; i < b; i++) {
            System.arraycopy(flat, i * d, rows[i], 0, d);
        }
        return rows;
    }

    static double[][] randomMatrix(Random rng, int r, int c, double scale) {
        double[][] a = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                a[i][j] = rng.nextGaussian() * scale;
            }
        }
        return a;
    }

    /** Rows g·mix + 3 for Gaussian g: correlated features with a non-zero mean. */
    static double[][] correlated(Random rng, int b, double[][] mix) {
        int d = mix.length;
        double[][] out = new double[b][d];
        for (int i = 0; i < b; i++) {
            double[] g = new double[d];
            for (int j = 0; j < d; j++) {
                g[j] = rng.nextGaussian();
            }
            for (int j = 0; j < d; j++) {
                double v = 3;
                for (int t = 0; t < d; t++) {
                    v += g[t] * mix[t][j];
                }
                out[i][j] = v;
            }
        }
        return out;
    }
}
