package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.model.Architecture;
import io.kdstream.model.TorchStateDict;

/**
 * A trained zoo student as a PyTorch state dict ({@code kdstream export}): the student network's
 * parameters from a checkpoint, renamed by {@link TorchStateDict}, as an F32 safetensors file that
 * {@code examples/zoo.py} loads. The projection and the optimizer state stay behind: they are
 * training machinery, not the model.
 */
public final class ZooExport {

    /** Which checkpoint to export. */
    public enum Which {
        /** {@code best.safetensors}: the best test (or validation) accuracy seen during training. */
        BEST,
        /** The newest step checkpoint that reads back intact: the model as training left it. */
        LATEST
    }

    /** What was exported, for the command's one line. */
    public record Result(Path source, Architecture arch, long step, double bestAccuracy, int tensors) {
    }

    /** The student's parameters in a checkpoint: {@code param/} + {@code student/} + DJL name (StudentModel). */
    private static final String STUDENT_PARAM = "param/student/";
    /** How {@link StudentConfig#toString()} names the architecture. */
    private static final Pattern ARCH = Pattern.compile("\\barch=([A-Za-z0-9_-]+)");

    private ZooExport() {
    }

    /** The checkpoint file {@code which} selects in {@code dir}. */
    public static Path select(Path dir, Which which) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("no checkpoint directory " + dir);
        }
        if (which == Which.BEST) {
            Path best = dir.resolve(CheckpointStore.BEST);
            if (!Files.isRegularFile(best)) {
                throw new IOException(dir + " has no " + CheckpointStore.BEST
                        + " (the student never evaluated); use --checkpoint latest");
            }
            return best;
        }
        // steps() is newest first; take the first that reads back, as a resuming student would
        for (Path p : new CheckpointStore(dir, 1).steps()) {
            try {
                CheckpointStore.read(p);
                return p;
            } catch (IOException | RuntimeException e) {
                // corrupt: the previous one
            }
        }
        throw new IOException(dir + " holds no intact step checkpoint");
    }

    /** Reads {@code source} (a student checkpoint) and writes its student network to {@code out}. */
    public static Result export(Path source, Path out) throws IOException {
        Checkpoint c = CheckpointStore.read(source);
        String config = TrainingState.experimentOf(c).config();
        Matcher m = config == null ? null : ARCH.matcher(config);
        if (m == null || !m.find()) {
            throw new IOException(source + " does not say which zoo architecture it holds (no arch in its config)");
        }
        Architecture arch;
        try {
            arch = Architecture.parse(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IOException(source + " holds a '" + m.group(1)
                    + "' student, not a zoo architecture: " + e.getMessage(), e);
        }
        if (arch == Architecture.RESNET) {
            // examples/zoo.py has no resnet: the file would load into nothing
            throw new IOException(source + " holds a resnet student; export writes cnn, mlp, vit and vit-pool students, "
                    + "the architectures examples/zoo.py defines (a --student FILE.pt student is written back as "
                    + "<checkpoint-dir>/student.pt)");
        }
        Map<String, Tensor> djl = new LinkedHashMap<>();
        c.tensors().forEach((k, t) -> {
            if (k.startsWith(STUDENT_PARAM)) {
                djl.put(k.substring(STUDENT_PARAM.length()), t);
            }
        });
        Map<String, Tensor> state;
        try {
            state = TorchStateDict.of(arch, djl, c.step());
        } catch (IllegalArgumentException e) {
            throw new IOException(source + " does not hold a " + arch.id() + " student: " + e.getMessage(), e);
        }
        TrainingState s = TrainingState.from(c);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt"); // what Hugging Face's safetensors writes for torch state dicts
        meta.put("architecture", arch.id());
        meta.put("source", source.getFileName().toString());
        meta.put("step", Long.toString(c.step()));
        meta.put("best_accuracy", Double.toString(s.best()));
        TrainingState.Experiment e = TrainingState.experimentOf(c);
        putIfPresent(meta, "run_id", e.runId());
        putIfPresent(meta, "teacher_id", e.teacherId());
        putIfPresent(meta, "group", e.group());
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        SafeTensors.write(out, state, meta);
        return new Result(source, arch, c.step(), s.best(), state.size());
    }

    /**
     * The weights {@code kdstream student --arch arch --seed seed} starts from (for images C×H×W and
     * {@code numClasses} classes), written as {@link #export} writes a trained student: {@code
     * examples/zoo.py script FILE OUT.pt} turns them into the student's TorchScript twin, so the two
     * can be trained from the same start (the study's VkD-ts row).
     */
    public static void initialWeights(Architecture arch, int channels, int height, int width, int numClasses,
                                      long seed, Path out) throws IOException {
        Map<String, Tensor> djl = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager(null, "PyTorch")) {
            Engine.getEngine("PyTorch").setRandomSeed((int) seed); // as StudentModel seeds before building the student
            ZooStudent student = new ZooStudent(arch, manager, channels, height, width, numClasses);
            student.state().forEach((k, t) -> djl.put(k.substring(STUDENT_PARAM.length()), t));
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        SafeTensors.write(out, TorchStateDict.of(arch, djl, 0), Map.of("format", "pt", "architecture", arch.id(),
                "step", "0", "seed", Long.toString(seed)));
    }

    /** The one line the command prints. */
    public static String describe(Result r, Path out) {
        return String.format(Locale.ROOT, "exported %s (a %s student at step %d, best accuracy %s): %d tensors to %s",
                r.source(), r.arch().id(), r.step(), Double.isNaN(r.bestAccuracy()) ? "not evaluated"
                        : String.format(Locale.ROOT, "%.4f", r.bestAccuracy()), r.tensors(), out);
    }

    private static void putIfPresent(Map<String, String> meta, String key, String value) {
        if (value != null) {
            meta.put(key, value);
        }
    }
}
