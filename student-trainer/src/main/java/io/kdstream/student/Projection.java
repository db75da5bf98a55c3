package io.kdstream.student;

import java.util.Locale;

import io.kdstream.vkd.OrthogonalMap;

/** How student features reach the teacher's feature space ({@code --projection}). */
public enum Projection {
    /** VkD: orthogonal projection through the matrix exponential (the paper's choice). */
    MATRIX_EXP,
    /** VkD: orthogonal projection through the Cayley map. */
    CAYLEY,
    /** FitNet-style: an unconstrained linear map without bias. */
    LINEAR,
    /** No projection: the student's embedding is compared as it is (needs d_s = d_t). */
    NONE;

    /** The VkD map of an orthogonal projection, or null for {@link #LINEAR} and {@link #NONE}. */
    public OrthogonalMap orthogonalMap() {
        return switch (this) {
            case MATRIX_EXP -> OrthogonalMap.MATRIX_EXP;
            case CAYLEY -> OrthogonalMap.CAYLEY;
            case LINEAR, NONE -> null;
        };
    }

    /** The command-line spelling: {@code matrix_exp}, {@code cayley}, {@code linear} or {@code none}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Projection fromConfigName(String name) {
        for (Projection p : values()) {
            if (p.configName().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("--projection must be matrix_exp, cayley, linear or none, got " + name);
    }

    /** The projections a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.EnumChoice<Projection> {
        public Names() {
            super(values(), Projection::configName);
        }
    }
}
