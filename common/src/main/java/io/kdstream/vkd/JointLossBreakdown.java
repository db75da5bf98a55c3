package io.kdstream.vkd;

import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * One step's loss with several teachers: {@code combined} as {@link LossBreakdown} (its feature is
 * the weighted sum Σ w_i·feature_i) and each teacher's unweighted feature loss, in teacher order,
 * for a per-teacher metric.
 */
public record JointLossBreakdown(LossBreakdown combined, List<NDArray> teacherFeatures) {

    /** Each teacher's feature loss as a number; forces a device sync. */
    public double[] teacherFeatureValues() {
        double[] out = new double[teacherFeatures.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = teacherFeatures.get(i).toType(DataType.FLOAT64, false).getDouble();
        }
        return out;
    }
}
