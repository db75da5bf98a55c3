package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.vkd.OrthogonalProjection;

/**
 * A student checkpoint's projections ({@code kdstream export --projectors}): training-only, so the
 * exported student ({@code student.pt}, {@link ZooExport}) never holds them, but on request each
 * teacher's projection d_s → d_t as the weight of {@code nn.Linear(d_s, d_t, bias=False)}
 * ([d_t, d_s], F32), keyed {@code <run>.weight}: to keep distilling from a checkpoint in PyTorch,
 * or to map the student's features into a teacher's space. Orthogonal projections are written as
 * the matrix P they parametrize. Works for zoo and TorchScript students alike.
 */
public final class ProjectorExport {

    /** What was exported: the teacher runs, in the file's order (sorted). */
    public record Result(Path source, long step, List<String> runs) {
    }

    private static final String PREFIX = "param/proj/";
    private static final Pattern PROJECTION = Pattern.compile("\\bprojection=([a-z_]+)");
    private static final Pattern STUDENT_NORM = Pattern.compile("\\bstudentNorm=([a-z]+)");

    private ProjectorExport() {
    }

    /** Reads {@code source} (a student checkpoint) and writes its projections to {@code out}. */
    public static Result export(Path source, Path out) throws IOException {
        Checkpoint c = CheckpointStore.read(source);
        TrainingState.Experiment e = TrainingState.experimentOf(c);
        String config = e.config() == null ? "" : e.config();
        Projection projection = Projection.fromConfigName(find(PROJECTION, config, source, "projection"));
        if (projection == Projection.NONE) {
            throw new IOException(source + " was trained with --projection none: the student's features were compared "
                    + "as they are, there is no projection to export");
        }
        // one head: param/proj/<name>; several: param/proj/<run>/<name> (StudentModel)
        Map<String, Map<String, Tensor>> heads = new TreeMap<>();
        String single = e.runId() != null ? e.runId() : "teacher";
        c.tensors().forEach((k, t) -> {
            if (k.startsWith(PREFIX)) {
                String rest = k.substring(PREFIX.length());
                int slash = rest.indexOf('/');
                String run = slash < 0 ? single : rest.substring(0, slash);
                heads.computeIfAbsent(run, r -> new TreeMap<>()).put(rest.substring(slash + 1), t);
            }
        });
        if (heads.isEmpty()) {
            throw new IOException(source + " holds no projection parameters (param/proj/...)");
        }
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Tensor>> h : heads.entrySet()) {
            weights.put(h.getKey() + ".weight", weight(projection, h.getValue(), source, h.getKey()));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("projection", projection.configName());
        // the projections act on the student embedding after this standardization (no affine)
        meta.put("student_norm", find(STUDENT_NORM, config, source, "studentNorm"));
        meta.put("runs", String.join(",", heads.keySet()));
        meta.put("source", source.getFileName().toString());
        meta.put("step", Long.toString(c.step()));
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        SafeTensors.write(out, weights, meta);
        return new Result(source, c.step(), new ArrayList<>(heads.keySet()));
    }

    /** The [d_t, d_s] matrix of one head: a linear map's weight, or the orthogonal P of its raw parameter. */
    private static Tensor weight(Projection projection, Map<String, Tensor> params, Path source, String run)
            throws IOException {
        if (projection == Projection.LINEAR) {
            return require(params, "weight", source, run);
        }
        Tensor original = require(params, "original", source, run);
        try (NDManager m = NDManager.newBaseManager(null, "PyTorch")) { // the engine only where P is computed
            NDArray raw = array(m, original);
            NDArray base = params.containsKey("base") ? array(m, params.get("base")) : null;
            return StudentModel.toTensor(OrthogonalProjection.weight(m, raw, base, projection.orthogonalMap(),
                    OrthogonalProjection.Path.FAST));
        }
    }

    private static Tensor require(Map<String, Tensor> params, String name, Path source, String run) throws IOException {
        Tensor t = params.get(name);
        if (t == null) {
            throw new IOException(source + ": the projection of run " + run + " has no parameter " + name
                    + " (it has " + params.keySet() + ")");
        }
        return t;
    }

    private static NDArray array(NDManager m, Tensor t) {
        return m.create(t.toFloats(), new Shape(StudentModel.toLongs(t.shape())));
    }

    private static String find(Pattern p, String config, Path source, String what) throws IOException {
        Matcher m = p.matcher(config);
        if (!m.find()) {
            throw new IOException(source + " does not record its " + what + " (no " + what + " in its config)");
        }
        return m.group(1);
    }
}
