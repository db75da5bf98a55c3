package io.kdstream.vkd;

import java.util.Locale;

/** How a skew-symmetric matrix A becomes an orthogonal one, as in torch's {@code orthogonal_map}. */
public enum OrthogonalMap {
    /** Q = exp(A); the VkD paper's choice and the default. */
    MATRIX_EXP,
    /** Q = (I − A/2)⁻¹(I + A/2); cheaper, a rational rather than exact retraction. */
    CAYLEY;

    /** The PyTorch spelling: {@code matrix_exp} or {@code cayley}. */
    public String torchName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the PyTorch spelling (case-insensitive). */
    public static OrthogonalMap fromTorchName(String name) {
        for (OrthogonalMap m : values()) {
            if (m.torchName().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown orthogonal map '" + name + "', expected matrix_exp or cayley");
    }

    /** The orthogonal maps a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.EnumChoice<OrthogonalMap> {
        public Names() {
            super(values(), OrthogonalMap::torchName);
        }
    }
}
