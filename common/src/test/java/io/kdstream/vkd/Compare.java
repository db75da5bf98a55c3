package io.kdstream.vkd;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;

/** Max-abs-difference comparison relative to the reference's largest entry (the metric). */
final class Compare {
    private Compare() {}

    static double relativeMaxError(NDArray actual, double[] expected) {
        double[] a = actual.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
        assertThat(a).hasSameSizeAs(expected);
        double maxDiff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return maxDiff / Math.max(scale, Double.MIN_NORMAL);
    }

    static void assertClose(String what, NDArray actual, double[] expected, double tolerance) {
        double err = relativeMaxError(actual, expected);
        assertThat(err).as("%s: max |diff| / max |ref|", what).isLessThanOrEqualTo(tolerance);
    }
}
