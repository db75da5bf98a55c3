package io.kdstream.model;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * The devices a placement test runs on: the CPU (named explicitly, so the test also holds on a GPU
 * host, where the engine's default is the GPU) and the first GPU. The GPU case is always generated
 * and, where DJL sees no GPU, skipped with a {@code [gpu]} reason, so the skip shows in the counts.
 */
public final class DeviceCases {

    private DeviceCases() {
    }

    /** {@code --device} values to test: {@code cpu} and {@code gpu:0}; a test first calls {@link #assumeAvailable}. */
    public static Stream<String> specs() {
        return Stream.of("cpu", "gpu:0");
    }

    /** Skips the case (reason {@code [gpu]}) when {@code spec} names a GPU and DJL sees none. */
    public static void assumeAvailable(String spec) {
        if (spec.startsWith("gpu")) {
            Prerequisites.assume(Need.GPU, Engine.getEngine("PyTorch").getGpuCount() > 0,
                    "no GPU visible to DJL (CPU libtorch or no CUDA device): the " + spec + " case runs on a GPU host");
        }
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
