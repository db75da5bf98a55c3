package io.kdstream.model;

import ai.djl.Device;
import ai.djl.engine.Engine;

/**
 * {@code --device auto|cpu|gpu[:i]}. DJL places arrays and models on the engine's default device
 * (the first GPU when it sees one), so this validates the request against what DJL sees and says
 * how to get it, rather than silently running somewhere else.
 */
public final class Devices {

    private Devices() {
    }

    /** The device the service will run on; throws with a remedy when the request cannot be met. */
    public static Device resolve(String spec) {
        Engine engine = Engine.getEngine("PyTorch");
        int gpus = engine.getGpuCount();
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        Device chosen = engine.defaultDevice();
        if (s.equals("auto")) {
            return chosen;
        }
        if (s.equals("cpu")) {
            if (gpus > 0) {
                throw new IllegalArgumentException("--device cpu, but DJL sees " + gpus + " GPU(s) and uses "
                        + chosen + ": hide them with CUDA_VISIBLE_DEVICES= to run on the CPU");
            }
            return Device.cpu();
        }
        if (s.equals("gpu") || s.startsWith("gpu:")) {
            int id = s.equals("gpu") ? 0 : Integer.parseInt(s.substring(4));
            if (id >= gpus) {
                throw new IllegalArgumentException("--device " + spec + ", but DJL sees " + gpus + " GPU(s)"
                        + (gpus == 0 ? " (CPU-only libtorch, or no CUDA driver: see README, 'GPU')" : ""));
            }
            if (id != 0) {
                throw new IllegalArgumentException("--device " + spec + ": select the GPU with CUDA_VISIBLE_DEVICES="
                        + id + " and --device gpu:0");
            }
            return Device.gpu(0);
        }
        throw new IllegalArgumentException("--device must be auto, cpu or gpu[:i], got '" + spec + "'");
    }
}
