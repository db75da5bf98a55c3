package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import java.util.Locale;

import io.kdstream.autograd.Scalars;

/** Loss between projected student features and normalized teacher features, mean over all entries. */
public enum FeatureLoss {
    /** Mean squared error ({@code F.mse_loss}). */
    L2 {
        @Override
        NDArray elementwise(NDArray diff) {
            return diff.square();
        }
    },
    /** Huber-like loss with beta = 1 ({@code F.smooth_l1_loss}): 0.5·d² if |d| &lt; 1, else |d| − 0.5. */
    SMOOTH_L1 {
        @Override
        NDArray elementwise(NDArray diff) {
            NDArray abs = diff.abs();
            NDArray quadratic = Scalars.mul(diff.square(), 0.5);
            NDArray linear = abs.sub(0.5);
            return ai.djl.ndarray.NDArrays.where(abs.lt(1.0), quadratic, linear);
        }
    };

    abstract NDArray elementwise(NDArray diff);

    /** The scalar loss; {@code projected} and {@code teacher} must have the same shape. */
    public NDArray compute(NDArray projected, NDArray teacher) {
        if (!projected.getShape().equals(teacher.getShape())) {
            throw new IllegalArgumentException("projected " + projected.getShape()
                    + " and teacher " + teacher.getShape() + " features differ in shape");
        }
        return elementwise(projected.sub(teacher)).mean();
    }

    /** The config spelling: {@code l2} or {@code smooth_l1}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FeatureLoss fromConfigName(String name) {
        for (FeatureLoss l : values()) {
            if (l.configName().equalsIgnoreCase(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown feature loss '" + name + "', expected l2 or smooth_l1");
    }

    /** The feature losses a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.EnumChoice<FeatureLoss> {
        public Names() {
            super(values(), FeatureLoss::configName);
        }
    }
}
