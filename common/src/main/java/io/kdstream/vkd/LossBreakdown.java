package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One step's loss: {@code total = ce + α·feature + γ·kd}, with each unweighted component kept for
 * the {@code loss{component=ce|feature|kd}} metric. All arrays are scalars; {@code total} is the one
 * to back-propagate. An absent component is a zero scalar.
 */
public record LossBreakdown(NDArray total, NDArray ce, NDArray feature, NDArray kd) {

    /** Component values keyed by metric label (ce, feature, kd, total); forces a device sync. */
    public Map<String, Double> values() {
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("ce", scalar(ce));
        out.put("feature", scalar(feature));
        out.put("kd", scalar(kd));
        out.put("total", scalar(total));
        return out;
    }

    private static double scalar(NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }
}
