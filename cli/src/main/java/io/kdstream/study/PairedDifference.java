package io.kdstream.study;

import java.util.List;

/**
 * The mean of per-seed differences {@code a[i] - b[i]} between two rows trained with the same
 * seeds (same initialization and stream), with a two-sided 95% Student-t confidence interval.
 * Pairing removes the seed-to-seed variance both rows share.
 */
record PairedDifference(int n, double mean, double low, double high) {

    // t_{0.975, df} for df = 1..30; beyond that the normal quantile is close enough
    private static final double[] T975 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
            2.056, 2.052, 2.048, 2.045, 2.042};

    static PairedDifference of(List<Double> a, List<Double> b) {
        if (a.size() != b.size() || a.isEmpty()) {
            throw new IllegalArgumentException("paired samples need the same, non-zero length: " + a.size() + " vs " + b.size());
        }
        int n = a.size();
        double[] d = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            d[i] = a.get(i) - b.get(i);
            sum += d[i];
        }
        double mean = sum / n;
        if (n == 1) {
            return new PairedDifference(1, mean, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        }
        double ss = 0;
        for (double x : d) {
            ss += (x - mean) * (x - mean);
        }
        double half = tQuantile(n - 1) * Math.sqrt(ss / (n - 1) / n);
        return new PairedDifference(n, mean, mean - half, mean + half);
    }

    static double tQuantile(int df) {
        return df <= T975.length ? T975[df - 1] : 1.960;
    }

    /** The whole interval is above zero: the gain is larger than the seed noise at 95%. */
    boolean positive() {
        return low > 0;
    }
}
