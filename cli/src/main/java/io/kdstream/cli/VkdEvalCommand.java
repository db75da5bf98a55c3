package io.kdstream.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.kdstream.codec.DType;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.config.Bounded;
import io.kdstream.config.Choice;
import io.kdstream.config.EnumChoice;
import io.kdstream.config.PathOption;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.Normalization;
import io.kdstream.vkd.OrthogonalMap;
import io.kdstream.vkd.OrthogonalProjection;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdstream vkd-eval}: runs the VkD math once on tensors from a safetensors file and writes
 * every intermediate, so an install can be checked against PyTorch (or any other implementation)
 * with stock tools.
 */
@Command(name = "vkd-eval",
        mixinStandardHelpOptions = true,
        description = {
                "Evaluates the VkD projection, teacher normalization and feature loss on given tensors.",
                "Reads X [d_t, d_s] (PyTorch's parametrizations.weight.original of nn.Linear(d_s, d_t)), "
                        + "optional base [n, n] (n = max(d_s, d_t); identity when absent), student [B, d_s] and "
                        + "teacher [B, d_t]. Writes P, teacher_norm, projected, loss, grad_X and grad_student."})
public final class VkdEvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Computation dtype. */
    enum Precision {
        f32(DataType.FLOAT32, DType.F32), f64(DataType.FLOAT64, DType.F64);

        final DataType djl;
        final DType wire;

        Precision(DataType djl, DType wire) {
            this.djl = djl;
            this.wire = wire;
        }
    }

    @Option(names = "--in", converter = PathOption.ExistingFile.class, required = true, description = "Input safetensors file.")
    Path in;

    @Option(names = "--out", converter = PathOption.OutputFile.class, required = true, description = "Output safetensors file.")
    Path out;

    @Option(names = "--map", converter = OrthogonalMap.Names.class, completionCandidates = OrthogonalMap.Names.class, defaultValue = "matrix_exp",
            description = "Orthogonal map: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OrthogonalMap map;

    @Option(names = "--norm", converter = Normalization.OneBatchNames.class,
            completionCandidates = Normalization.OneBatchNames.class, defaultValue = "none",
            description = "Teacher normalization of the one batch: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Normalization norm;

    @Option(names = "--loss", converter = FeatureLoss.Names.class, completionCandidates = FeatureLoss.Names.class, defaultValue = "l2",
            description = "Feature loss: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    FeatureLoss loss;

    @Option(names = "--dtype", defaultValue = "f32",
            description = "Computation dtype: f32 or f64 (default: ${DEFAULT-VALUE}).")
    Precision dtype;

    @Option(names = "--path", converter = ProjectionPaths.class, completionCandidates = ProjectionPaths.class, defaultValue = "fast",
            description = "Projection algorithm: fast (O(n·k²)) or dense (O(n³), PyTorch's) (default: ${DEFAULT-VALUE}).")
    OrthogonalProjection.Path path;

    @Option(names = "--bench", converter = Bounded.NonNegativeInt.class, defaultValue = "0",
            description = "Also time N iterations of projection forward+backward+loss after warm-up and print"
                    + " 'fwd_bwd_median_ms: <value>'.")
    int bench;

    @Override
    public Integer call() throws Exception {
        OrthogonalMap orthMap = map;
        Normalization normalization = norm;
        FeatureLoss featureLoss = loss;
        OrthogonalProjection.Path projPath = path;
        if (bench < 0) {
            throw new IllegalArgumentException("--bench must be >= 0, got " + bench);
        }
        Map<String, Tensor> tensors = SafeTensors.read(in).tensors();
        Tensor x = require(tensors, "X", 2);
        int dT = x.dim(0);
        int dS = x.dim(1);
        int n = Math.max(dS, dT);
        Tensor student = require(tensors, "student", 2);
        int b = student.dim(0);
        expectShape("student", student, b, dS);
        Tensor teacher = require(tensors, "teacher", 2);
        expectShape("teacher", teacher, b, dT);
        Tensor base = tensors.get("base");
        if (base != null) {
            checkFloatingFinite("base", base);
            expectShape("base", base, n, n);
        }

        Map<String, Tensor> results = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            NDArray xs = toArray(manager, x);
            NDArray baseArr = base == null ? null : toArray(manager, base);
            NDArray s = toArray(manager, student);
            NDArray teacherNorm = normalization.create().normalize(toArray(manager, teacher));
            xs.setRequiresGradient(true);
            s.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray p = OrthogonalProjection.weight(manager, xs, baseArr, orthMap, projPath);
                NDArray projected = s.matMul(p.transpose());
                NDArray l = featureLoss.compute(projected, teacherNorm);
                gc.backward(l);
                results.put("P", toTensor(p));
                results.put("teacher_norm", toTensor(teacherNorm));
                results.put("projected", toTensor(projected));
                results.put("loss", toTensor(l));
            }
            results.put("grad_X", toTensor(xs.getGradient()));
            results.put("grad_student", toTensor(s.getGradient()));
            if (bench > 0) {
                double median = benchmark(manager, xs, baseArr, s, teacherNorm, orthMap, projPath, featureLoss);
                spec.commandLine().getOut().printf(Locale.ROOT, "fwd_bwd_median_ms: %.3f%n", median);
                spec.commandLine().getOut().flush();
            }
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("map", orthMap.torchName());
        meta.put("norm", normalization.configName());
        meta.put("loss", featureLoss.configName());
        meta.put("dtype", dtype.name());
        meta.put("path", projPath.name().toLowerCase(Locale.ROOT));
        SafeTensors.write(out, results, meta);
        return 0;
    }

    private double benchmark(NDManager manager, NDArray x, NDArray base, NDArray student, NDArray teacher,
            OrthogonalMap orthMap, OrthogonalProjection.Path projPath, FeatureLoss featureLoss) {
        int warmup = Math.max(1, Math.min(bench, 3));
        double[] ms = new double[bench];
        for (int i = -warmup; i < bench; i++) {
            long t0 = System.nanoTime();
            try (NDManager step = manager.newSubManager()) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray p = OrthogonalProjection.weight(step, x, base, orthMap, projPath);
                    // student lives in the outer manager: own the product, everything after follows it.
                    NDArray projected = student.matMul(p.transpose());
                    projected.attach(step);
                    NDArray l = featureLoss.compute(projected, teacher);
                    gc.backward(l);
                }
                NDArray g = x.getGradient();
                g.attach(step);
                g.get(0, 0).toType(DataType.FLOAT64, false).getDouble(); // waits for the backward
                g.subi(g);
                NDArray gs = student.getGradient();
                gs.attach(step);
                gs.subi(gs);
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(ms);
        return bench % 2 == 1 ? ms[bench / 2] : (ms[bench / 2 - 1] + ms[bench / 2]) / 2;
    }

    /** {@code --path}. */
    static final class ProjectionPaths extends EnumChoice<OrthogonalProjection.Path> {
        ProjectionPaths() {
            super(OrthogonalProjection.Path.values(), Choice::lower);
        }
    }

    private static Tensor require(Map<String, Tensor> tensors, String name, int rank) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("tensor '" + name + "' is missing");
        }
        checkFloatingFinite(name, t);
        if (t.rank() != rank) {
            throw new IllegalArgumentException("tensor '" + name + "' must have rank " + rank + ", got shape "
                    + Arrays.toString(t.shape()));
        }
        return t;
    }

    private static void checkFloatingFinite(String name, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException("tensor '" + name + "' must be floating point, got " + t.dtype());
        }
        if (!t.allFinite()) {
            throw new IllegalArgumentException("tensor '" + name + "' contains non-finite values");
        }
    }

    private static void expectShape(String name, Tensor t, int... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("tensor '" + name + "' must have shape " + Arrays.toString(shape)
                    + " (from X [d_t, d_s] and student [B, d_s]), got " + Arrays.toString(t.shape()));
        }
    }

    private NDArray toArray(NDManager manager, Tensor t) {
        long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
        NDArray a = manager.create(t.toDoubles(), new Shape(shape));
        return dtype.djl == DataType.FLOAT64 ? a : a.toType(dtype.djl, false);
    }

    private Tensor toTensor(NDArray a) {
        int[] shape = Arrays.stream(a.getShape().getShape()).mapToInt(Math::toIntExact).toArray();
        double[] values = a.toType(DataType.FLOAT64, false).toDoubleArray();
        return Tensor.ofDoubles(shape, values).castTo(dtype.wire);
    }
}
