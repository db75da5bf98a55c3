package io.kdstream.model;

import java.util.Locale;

import ai.djl.Device;
import ai.djl.engine.Engine;

/**
 * {@code --device auto|cpu|gpu[:i]}: which device a service's model, arrays and trainer live on.
 * The resolved device is passed explicitly to every NDManager, model and TorchScript load, so
 * {@code cpu} runs on the CPU even where DJL sees GPUs, and {@code gpu:i} is that GPU.
 */
public final class Devices {

    /** The option's help text, shared by every command that takes it. */
    public static final String HELP = "auto | cpu | gpu[:i]: auto is the first GPU DJL sees, else the CPU "
            + "(default: ${DEFAULT-VALUE}).";

    private Devices() {
    }

    /** The device the service will run on; throws with a remedy when the request cannot be met. */
    public static Device resolve(String spec) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        Engine engine = Engine.getEngine("PyTorch");
        if (s.equals("auto")) {
            return engine.defaultDevice();
        }
        if (s.equals("gpu") || s.matches("gpu:\\d{1,3}")) {
            int id = s.equals("gpu") ? 0 : Integer.parseInt(s.substring(4));
            int gpus = engine.getGpuCount();
            if (id >= gpus) {
                throw new IllegalArgumentException("--device " + spec + ", but DJL sees " + gpus + " GPU(s)"
                        + (gpus == 0 ? ": the libtorch in use is CPU-only, or no CUDA driver answers "
                                + "(docs/gpu.md)" : ": use gpu:0 to gpu:" + (gpus - 1)));
            }
            return Device.gpu(id);
        }
        throw new IllegalArgumentException("--device must be auto, cpu, gpu or gpu:i, got '" + spec + "'");
    }

    /**
     * {@code --device} on a command line: the spelling is checked at parse time, before the engine
     * starts (whether the GPU exists is {@link #resolve}'s to say).
     */
    public static final class Names extends io.kdstream.config.Choice {
        public Names() {
            super(java.util.List.of("auto", "cpu", "gpu", "gpu:i"));
        }

        @Override
        public String convert(String value) {
            String s = value.trim().toLowerCase(Locale.ROOT);
            if (s.equals("auto") || s.equals("cpu") || s.equals("gpu") || s.matches("gpu:\\d{1,3}")) {
                return s;
            }
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not one of auto, cpu, gpu, gpu:i");
        }
    }
}
