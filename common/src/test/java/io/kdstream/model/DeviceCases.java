package io.kdstream.model;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * The devices a placement test runs on: the CPU always (named explicitly, so the test also holds
 * on a GPU host, where the engine's default is the GPU), and the first GPU where DJL sees one.
 */
public final class DeviceCases {

    private DeviceCases() {
    }

    /** {@code --device} values to test: {@code cpu}, plus {@code gpu:0} on a GPU host. */
    public static Stream<String> specs() {
        List<String> specs = new ArrayList<>(List.of("cpu"));
        if (Engine.getEngine("PyTorch").getGpuCount() > 0) {
            specs.add("gpu:0");
        }
        return specs.stream();
    }

    /** Every array {@code manager} and its sub-managers hold that is not on {@code device}. */
    public static List<String> misplaced(NDManager manager, Device device) {
        List<String> wrong = new ArrayList<>();
        if (!manager.getDevice().equals(device)) {
            wrong.add("manager " + manager.getName() + " on " + manager.getDevice());
        }
        for (NDArray a : manager.getManagedArrays()) {
            if (!a.getDevice().equals(device)) {
                wrong.add((a.getName() != null ? a.getName() : a.getShape().toString()) + " on " + a.getDevice());
            }
        }
        return wrong;
    }
}
