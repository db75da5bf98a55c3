package io.kdstream.student;

import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import io.kdstream.codec.Tensor;
import io.kdstream.model.Architecture;
import io.kdstream.model.FeatureNet;

/**
 * A student from the model zoo, a {@link FeatureNet} built in Java. Its checkpoint tensors are
 * {@code param/student/<DJL parameter name>}, the names checkpoints have always had.
 */
final class ZooStudent implements StudentNetwork {

    private final FeatureNet net;
    private final Map<String, Parameter> params = new LinkedHashMap<>();

    ZooStudent(Architecture arch, NDManager manager, int channels, int height, int width, int numClasses) {
        net = arch.build(channels, numClasses);
        net.initialize(manager, DataType.FLOAT32, new Shape(1, channels, height, width));
        for (Pair<String, Parameter> p : net.getParameters()) {
            params.put("student/" + p.getKey(), p.getValue());
        }
    }

    /** The network itself, e.g. to save it as a zoo model. */
    FeatureNet net() {
        return net;
    }

    @Override
    public int featureDim() {
        return net.featureDim();
    }

    @Override
    public NDList forward(ParameterStore ps, NDArray x, boolean training, long step) {
        return net.forward(ps, new NDList(x), training);
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return params;
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        params.forEach((name, p) -> out.put("param/" + name, StudentModel.toTensor(p.getArray())));
        return out;
    }

    @Override
    public void loadState(Map<String, Tensor> tensors, NDManager manager) {
        params.forEach((name, p) -> StudentModel.copyInto(tensors, "param/" + name, p.getArray()));
    }

    @Override
    public void close() {
        // the arrays belong to the model's manager
    }

}
