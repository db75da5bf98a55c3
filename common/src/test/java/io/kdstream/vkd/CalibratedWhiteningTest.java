package io.kdstream.vkd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The run-level whitening of DESIGN §3: exact, decorrelating on unseen data, and reproducible bit for bit. */
class CalibratedWhiteningTest {

    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void close() {
        root.close();
    }

    @Test
    void matchesPyTorchEighInFloat64() {
        Fixture f = Fixture.load("whitening");
        double[] x = f.doubles("X");
        int d = 24;
        int n = x.length / d;
        float[] xs = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            xs[i] = (float) x[i];
        }
        // uneven batches, as a teacher's last batch would be
        CalibratedWhitening.Accumulator acc = CalibratedWhitening.accumulator(d);
        for (int from = 0; from < n; from += 10) {
            int rows = Math.min(10, n - from);
            acc.add(java.util.Arrays.copyOfRange(xs, from * d, (from + rows) * d), rows);
        }
        CalibratedWhitening w = acc.finish(Double.parseDouble(f.meta("shrinkage")));
        assertThat(w.epsilon()).isCloseTo(f.doubles("eps")[0], org.assertj.core.data.Offset.offset(1e-13));
        assertMaxAbsDiff("mean", w.mean(), f.doubles("mean"), 1e-12);
        assertMaxAbsDiff("W", w.matrix(), f.doubles("W"), 1e-9);
    }

    @Test
    void heldOutCalibrationDataComesOutWithIdentityCovariance() {
        int d = 16;
        Random r = new Random(3);
        double[][] mix = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                // correlated features of different scales, well conditioned
                mix[i][j] = (i == j ? 0.5 + 0.1 * i : 0) + 0.1 * r.nextGaussian();
            }
        }
        float[] calibration = sample(r, mix, 4096);
        float[] heldOut = sample(r, mix, 8192);
        CalibratedWhitening w = CalibratedWhitening.accumulator(d).add(calibration, 4096)
                .finish(CalibratedWhitening.DEFAULT_SHRINKAGE);
        double onCalibration = covarianceErrorFrobenius(w.whiten(calibration, 4096), 4096, d);
        double onHeldOut = covarianceErrorFrobenius(w.whiten(heldOut, 8192), 8192, d);
        // on the calibration set only the shrinkage separates cov(Z) = Σ(Σ+εI)^−1 from I;
        // on unseen samples the estimation error of Σ adds ~sqrt(d/n)
        assertThat(onCalibration).as("‖cov(Z) − I‖_F / sqrt(d), calibration set").isLessThan(0.05);
        assertThat(onHeldOut).as("‖cov(Z) − I‖_F / sqrt(d), held-out set").isLessThan(0.1);
        double unwhitened = covarianceErrorFrobenius(toDoubles(heldOut), 8192, d);
        assertThat(unwhitened).as("the raw features are far from white").isGreaterThan(0.5);
    }

    @Test
    void twoTeachersComputeTheSameMatrixBitForBit() throws Exception {
        int d = 40;
        float[] features = sample(new Random(9), identityPlusNoise(new Random(8), d), 4 * d);
        // two "teachers" in parallel, each with its own accumulator over the same calibration batches
        Thread[] threads = new Thread[2];
        CalibratedWhitening[] out = new CalibratedWhitening[2];
        for (int t = 0; t < 2; t++) {
            int k = t;
            threads[t] = new Thread(() -> {
                CalibratedWhitening.Accumulator acc = CalibratedWhitening.accumulator(d);
                for (int from = 0; from < 4 * d; from += 32) {
                    int rows = Math.min(32, 4 * d - from);
                    acc.add(java.util.Arrays.copyOfRange(features, from * d, (from + rows) * d), rows);
                }
                out[k] = acc.finish(CalibratedWhitening.DEFAULT_SHRINKAGE);
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join(60_000);
        }
        assertThat(out[0].sha256()).isEqualTo(out[1].sha256()).hasSize(64);
        double[] a = out[0].matrix();
        double[] b = out[1].matrix();
        for (int i = 0; i < a.length; i++) {
            assertThat(Double.doubleToRawLongBits(a[i])).as("W[%d]", i).isEqualTo(Double.doubleToRawLongBits(b[i]));
        }
        // and the hash changes with any bit of the matrix
        double[] m = out[0].matrix();
        m[5] = Math.nextUp(m[5]);
        assertThat(new CalibratedWhitening(out[0].mean(), m, out[0].epsilon()).sha256()).isNotEqualTo(out[0].sha256());
    }

    @Test
    void theTeachersNormalizerWhitensInFloat32AsTheDoubleReference() {
        int d = 32;
        Random r = new Random(4);
        float[] calibration = sample(r, identityPlusNoise(r, d), 512);
        CalibratedWhitening w = CalibratedWhitening.accumulator(d).add(calibration, 512).finish(1e-2);
        float[] batch = sample(r, identityPlusNoise(r, d), 8);
        try (NDManager m = root.newSubManager()) {
            FeatureNormalizer norm = w.normalizer(m);
            assertThat(norm.kind()).isEqualTo(Normalization.WHITEN);
            NDArray z = norm.normalize(m.create(batch, new Shape(8, d)));
            float[] got = z.toFloatArray();
            double[] want = w.whiten(batch, 8);
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).as("z[%d]", i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4));
            }
            // batch-independent: one sample alone gets the same target as inside its batch (up to
            // float32 matmul rounding; a redone batch, same composition, gets the same bits)
            NDArray one = norm.normalize(m.create(java.util.Arrays.copyOf(batch, d), new Shape(1, d)));
            float[] alone = one.toFloatArray();
            for (int i = 0; i < d; i++) {
                assertThat(alone[i]).isCloseTo(got[i], org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void refusesWhatItCannotWhiten() {
        assertThatThrownBy(() -> CalibratedWhitening.accumulator(3).add(new float[] {1, 2, 3}, 1).finish(1e-2))
                .hasMessageContaining("at least 2");
        assertThatThrownBy(() -> CalibratedWhitening.accumulator(2).add(new float[] {1, 1, 1, 1}, 2).finish(1e-2))
                .hasMessageContaining("no variance");
        assertThatThrownBy(() -> CalibratedWhitening.accumulator(2).add(new float[] {1, Float.NaN}, 1))
                .hasMessageContaining("non-finite");
    }

    private static double[][] identityPlusNoise(Random r, int d) {
        double[][] mix = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                mix[i][j] = (i == j ? 1 : 0) + 0.3 * r.nextGaussian();
            }
        }
        return mix;
    }

    /** n samples of g·mix + 2 with g standard normal. */
    private static float[] sample(Random r, double[][] mix, int n) {
        int d = mix.length;
        float[] out = new float[n * d];
        double[] g = new double[d];
        for (int s = 0; s < n; s++) {
            for (int k = 0; k < d; k++) {
                g[k] = r.nextGaussian();
            }
            for (int j = 0; j < d; j++) {
                double v = 2;
                for (int k = 0; k < d; k++) {
                    v += g[k] * mix[k][j];
                }
                out[s * d + j] = (float) v;
            }
        }
        return out;
    }

    private static double[] toDoubles(float[] f) {
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** ‖cov(Z) − I‖_F / sqrt(d), with the biased covariance around Z's own mean. */
    private static double covarianceErrorFrobenius(double[] z, int n, int d) {
        double[] mean = new double[d];
        for (int s = 0; s < n; s++) {
            for (int j = 0; j < d; j++) {
                mean[j] += z[s * d + j] / n;
            }
        }
        double err = 0;
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                double c = 0;
                for (int s = 0; s < n; s++) {
                    c += (z[s * d + i] - mean[i]) * (z[s * d + j] - mean[j]);
                }
                c /= n;
                err += Math.pow(c - (i == j ? 1 : 0), 2);
            }
        }
        return Math.sqrt(err / d);
    }

    private static void assertMaxAbsDiff(String what, double[] got, double[] want, double tol) {
        assertThat(got).hasSameSizeAs(want);
        double max = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(got[i] - want[i]));
        }
        assertThat(max).as("max |%s − PyTorch|", what).isLessThan(tol);
    }
}
