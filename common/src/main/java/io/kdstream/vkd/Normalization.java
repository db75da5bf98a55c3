package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The teacher normalizations of DESIGN §3; {@link #create()} gives a normalizer with defaults. */
public enum Normalization {
    /** Per-sample standardization over features, no affine ({@code F.layer_norm}, eps 1e-5). */
    LAYER,
    /**
     * Per-feature standardization over the batch: biased variance, eps 1e-5 inside the square root
     * ({@code F.batch_norm} in training mode without affine or running stats).
     */
    BATCH,
    /**
     * ZCA whitening with a matrix estimated once from the run's calibration set, see
     * {@link CalibratedWhitening}: it needs that estimate, so {@link #create()} refuses it.
     */
    WHITEN,
    /**
     * ZCA whitening of each batch by its own covariance ({@link WhiteningNormalizer}); degenerate
     * when B ≤ d_t, kept for comparison with {@code whiten}.
     */
    WHITEN_BATCH,
    /** Features published as the teacher produced them. */
    NONE;

    /** eps of {@code F.layer_norm} and {@code F.batch_norm}. */
    public static final double EPS = 1e-5;

    /**
     * A normalizer of this kind with default settings (per-batch whitening:
     * {@link WhiteningNormalizer#builder()}).
     *
     * @throws IllegalStateException for {@link #WHITEN}, which needs a {@link CalibratedWhitening}
     */
    public FeatureNormalizer create() {
        switch (this) {
            case WHITEN:
                throw new IllegalStateException("whiten uses the run's calibrated whitening "
                        + "(CalibratedWhitening.normalizer); per-batch whitening is whiten-batch");
            case WHITEN_BATCH:
                return WhiteningNormalizer.builder().build();
            case LAYER:
                return stateless(this, f -> standardize(f, 1));
            case BATCH:
                return stateless(this, f -> {
                    requireBatch(f, 2);
                    return standardize(f, 0);
                });
            default:
                return stateless(this, f -> f.duplicate());
        }
    }

    /**
     * The config and wire spelling ({@code --norm}, the manifest, batch metadata): {@code layer},
     * {@code batch}, {@code whiten}, {@code whiten-batch} or {@code none}.
     */
    @JsonValue
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    @JsonCreator
    public static Normalization fromConfigName(String name) {
        for (Normalization n : values()) {
            if (n.configName().equalsIgnoreCase(name)) {
                return n;
            }
        }
        throw new IllegalArgumentException(
                "unknown normalization '" + name + "', expected layer, batch, whiten, whiten-batch or none");
    }

    private static FeatureNormalizer stateless(Normalization kind, java.util.function.UnaryOperator<NDArray> fn) {
        return new FeatureNormalizer() {
            @Override
            public NDArray normalize(NDArray features) {
                requireBatch(features, 1);
                return fn.apply(features);
            }

            @Override
            public Normalization kind() {
                return kind;
            }
        };
    }

    /** (x − mean) / sqrt(biased var + eps) along {@code axis}; half precision is computed in float32. */
    private static NDArray standardize(NDArray features, int axis) {
        DataType in = features.getDataType();
        boolean upcast = in == DataType.FLOAT16 || in == DataType.BFLOAT16;
        NDArray x = upcast ? features.toType(DataType.FLOAT32, false) : features;
        NDArray centered = x.sub(x.mean(new int[] {axis}, true));
        NDArray var = centered.square().mean(new int[] {axis}, true);
        NDArray out = centered.div(var.add(EPS).sqrt());
        return upcast ? out.toType(in, false) : out;
    }

    static void requireBatch(NDArray features, int minRows) {
        Shape s = features.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("teacher features must be [B, d_t], got " + s);
        }
        if (s.get(0) < minRows) {
            throw new IllegalArgumentException(
                    "batch-dependent normalization needs B >= " + minRows + ", got " + s);
        }
        if (!features.getDataType().isFloating()) {
            throw new IllegalArgumentException("teacher features must be floating point, got " + features.getDataType());
        }
    }

    /** The normalizations a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.EnumChoice<Normalization> {
        public Names() {
            super(values(), Normalization::configName);
        }
    }

    /** The normalizations one batch can have on its own: all but the calibrated {@link #WHITEN}. */
    public static final class OneBatchNames extends io.kdstream.config.EnumChoice<Normalization> {
        public OneBatchNames() {
            super(java.util.Arrays.stream(values()).filter(n -> n != WHITEN).toArray(Normalization[]::new),
                    Normalization::configName);
        }
    }
}
