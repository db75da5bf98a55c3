package io.kdstream.manifest;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How a run with {@code normalization = whiten} whitens (DESIGN.md §3): the calibration set (the
 * first {@code samples} of the training split shuffled by {@code seed}, without augmentation), the
 * relative shrinkage, and the SHA-256 of the resulting mean and matrix, which live on the
 * compacted topic {@code <run>.whitening} (too big for a manifest record at d_t in the thousands)
 * and which every feature record names in its metadata.
 *
 * @param samples   calibration set size (default 4 × d_t, capped at the training split)
 * @param seed      calibration shuffle seed (default: the run seed)
 * @param shrinkage ε = shrinkage · tr(Σ)/d_t is added to the covariance's diagonal
 * @param sha256    the whitening's hash; null in a teacher's configuration until it is computed or read
 */
public record WhiteningRef(int samples, long seed, double shrinkage, String sha256) {

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    public WhiteningRef {
        if (samples < 2) {
            throw new IllegalArgumentException("whitening calibration needs at least 2 samples, got " + samples);
        }
        if (!(shrinkage > 0) || !Double.isFinite(shrinkage)) {
            throw new IllegalArgumentException("whitening shrinkage must be positive and finite, got " + shrinkage);
        }
        if (sha256 != null && !HEX.matcher(sha256).matches()) {
            throw new IllegalArgumentException("whitening sha256 must be 64 lower-case hex digits, got " + sha256);
        }
    }

    /** This reference with the computed (or published) whitening's hash. */
    public WhiteningRef withSha256(String sha) {
        return new WhiteningRef(samples, seed, shrinkage, Objects.requireNonNull(sha, "sha256"));
    }

    /** Whether {@code configured} asks for the same calibration (its hash may still be unknown). */
    public boolean sameCalibration(WhiteningRef configured) {
        return configured != null && samples == configured.samples && seed == configured.seed
                && Double.compare(shrinkage, configured.shrinkage) == 0;
    }
}
