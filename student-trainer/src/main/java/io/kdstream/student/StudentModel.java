package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.vkd.DistillationLoss;
import io.kdstream.vkd.JointDistillationLoss;
import io.kdstream.vkd.JointLossBreakdown;
import io.kdstream.vkd.Normalization;
import io.kdstream.vkd.OrthogonalProjection;

/**
 * The trainable part of a student experiment: the student network ({@link StudentNetwork}, zoo or
 * TorchScript), the projection into the teacher's feature space, the loss and the optimizer. One
 * {@link #step} is one optimizer step on one Kafka batch; every array it makes lives in a per-step
 * sub-manager, so memory stays flat.
 */
final class StudentModel implements AutoCloseable {

    /**
     * Losses of one step; {@code applied} is false when the loss was not finite and nothing changed.
     * {@code feature} is the weighted sum Σ w_i·feature_i; {@code teacherFeatures} holds each head's
     * unweighted feature loss in head ({@code --run}) order (NaN when not applied).
     */
    record StepResult(double total, double ce, double feature, double kd, boolean applied, long forwardNanos,
                      long backwardNanos, List<Double> teacherFeatures) {

        /** A one-teacher step: that teacher's feature loss is the feature term. */
        StepResult(double total, double ce, double feature, double kd, boolean applied, long forwardNanos,
                   long backwardNanos) {
            this(total, ce, feature, kd, applied, forwardNanos, backwardNanos, List.of(feature));
        }
    }

    /** Test-split metrics. */
    record EvalResult(double accuracy, double loss, int samples) {
    }

    /** A teacher head's trainable projection: null {@code projection} = identity (d_s = d_t). */
    private record Head(TeacherHead teacher, Block projection, OrthogonalProjection orthogonal, String prefix) {
    }

    private final NDManager manager;
    private final StudentNetwork student;
    private final List<Head> heads;
    private final Block embeddingNorm; // null unless --student-norm layer
    private final JointDistillationLoss loss;
    private final ParameterOptimizer optimizer;
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Shape inputShape;

    StudentModel(StudentConfig cfg, RunSpec run) {
        this(cfg, run, null);
    }

    /** Every parameter, optimizer state and per-step array on {@code device} (null: the engine's default). */
    StudentModel(StudentConfig cfg, RunSpec run, Device device) {
        this(cfg, run, TeacherHead.forRuns(cfg, List.of(run)), device);
    }

    /**
     * A student of several teachers (issue 39): one projection per head, in head order. {@code run}
     * gives what the runs share (input shape, classes). One head is the single-run student: its
     * parameters are {@code proj/...}; with several they are {@code proj/<run>/...}.
     */
    StudentModel(StudentConfig cfg, RunSpec run, List<TeacherHead> teachers, Device device) {
        if (teachers.isEmpty()) {
            throw new IllegalArgumentException("a student needs at least one teacher head");
        }
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        Engine.getEngine("PyTorch").setRandomSeed((int) cfg.seed());
        List<Integer> in = run.inputShape();
        this.inputShape = new Shape(in.get(0), in.get(1), in.get(2));
        StudentNetwork network = null;
        try {
            network = cfg.torchScriptStudent() != null
                    ? new TorchScriptStudent(cfg.torchScriptStudent(), manager, cfg.seed(), in.get(0), in.get(1),
                    in.get(2), run.numClasses())
                    : new ZooStudent(cfg.arch(), manager, in.get(0), in.get(1), in.get(2), run.numClasses());
            student = network;
            int ds = student.featureDim();
            List<Head> built = new ArrayList<>(teachers.size());
            for (TeacherHead t : teachers) {
                built.add(head(cfg, t, ds, teachers.size() == 1 ? "proj/" : "proj/" + t.run() + "/"));
            }
            heads = List.copyOf(built);
            if (cfg.studentNorm() == Normalization.LAYER) {
                embeddingNorm = LayerNorm.builder().axis(1).optCenter(false).optScale(false).build();
                embeddingNorm.initialize(manager, DataType.FLOAT32, new Shape(1, ds));
            } else {
                embeddingNorm = null;
            }
        } catch (RuntimeException e) {
            if (network != null) {
                network.close();
            }
            manager.close();
            throw e;
        }
        bindParameters();
        this.loss = JointDistillationLoss.builder().optLossWeights(cfg.lossWeights())
                .optTeacherWeights(teachers.stream().mapToDouble(TeacherHead::weight).toArray())
                .optLogitsFrom(TeacherHead.logitsFrom(cfg, teachers)).build();
        this.optimizer = ParameterOptimizer.create(cfg.optimizer(), manager, cfg.weightDecay());
    }

    /** The projection d_s → d_t of one teacher, as {@code --projection} says, initialized. */
    private Head head(StudentConfig cfg, TeacherHead t, int ds, String prefix) {
        int dt = t.teacherDim();
        Block projection;
        OrthogonalProjection orthogonal = null;
        switch (cfg.projection()) {
            case NONE -> {
                if (ds != dt) {
                    throw new IllegalArgumentException("--projection none needs d_s = d_t, but student "
                            + cfg.studentName() + " has d_s=" + ds + " and the teacher" + (prefix.equals("proj/") ? ""
                            : " of run " + t.run()) + " d_t=" + dt);
                }
                projection = null;
            }
            case LINEAR -> projection = Linear.builder().setUnits(dt).optBias(false).build();
            default -> {
                orthogonal = OrthogonalProjection.builder().setDims(ds, dt)
                        .optMap(cfg.projection().orthogonalMap()).build();
                projection = orthogonal;
            }
        }
        if (projection != null) {
            projection.initialize(manager, DataType.FLOAT32, new Shape(1, ds));
        }
        return new Head(t, projection, orthogonal, prefix);
    }

    /** The optimizer's view: the network's trainable arrays (looked up again after a restore) and the projections'. */
    private void bindParameters() {
        params.clear();
        params.putAll(student.trainableParameters());
        for (Head h : heads) {
            if (h.projection() != null) {
                for (Pair<String, Parameter> p : h.projection().getParameters()) {
                    params.put(h.prefix() + p.getKey(), p.getValue());
                }
            }
        }
    }

    /** The teacher heads, in {@code --run} order. */
    List<TeacherHead> teacherHeads() {
        return heads.stream().map(Head::teacher).toList();
    }

    NDManager manager() {
        return manager;
    }

    Shape inputShape() {
        return inputShape;
    }

    /**
     * One optimizer step with one teacher. Arrays must belong to {@code step}, a sub-manager the caller closes.
     *
     * @param teacherLogits null when the run publishes none
     */
    StepResult step(NDManager step, NDArray x, NDArray labels, NDArray teacher, NDArray teacherLogits, double lr) {
        return step(step, x, labels, List.of(teacher), Collections.singletonList(teacherLogits), lr);
    }

    /**
     * One optimizer step on one joined batch. Arrays must belong to {@code step}, a sub-manager the
     * caller closes.
     *
     * @param teacherFeatures each head's normalized teacher features [B, d_t,i], in head order
     * @param teacherLogits each head's teacher logits [B, C], an entry null where that run has none
     */
    StepResult step(NDManager step, NDArray x, NDArray labels, List<NDArray> teacherFeatures,
                    List<NDArray> teacherLogits, double lr) {
        if (teacherFeatures.size() != heads.size() || teacherLogits.size() != heads.size()) {
            throw new IllegalArgumentException("this student has " + heads.size() + " teacher heads, the step got "
                    + teacherFeatures.size() + " feature batches and " + teacherLogits.size() + " logits entries");
        }
        long t0 = System.nanoTime();
        JointLossBreakdown l;
        double total;
        ParameterStore ps = new ParameterStore(step, false);
        long t1;
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDList out = student.forward(ps, x, true, optimizer.updates());
            NDArray embedding = embeddingNorm == null ? out.get(0)
                    : embeddingNorm.forward(ps, new NDList(out.get(0)), true).singletonOrThrow();
            List<NDArray> projected = new ArrayList<>(heads.size());
            for (Head h : heads) {
                projected.add(h.projection() == null ? embedding
                        : h.projection().forward(ps, new NDList(embedding), true).singletonOrThrow());
            }
            l = loss.compute(projected, teacherFeatures, out.get(1), labels, teacherLogits);
            total = l.combined().total().toType(DataType.FLOAT64, false).getDouble();
            t1 = System.nanoTime();
            if (!Double.isFinite(total)) {
                return new StepResult(total, Double.NaN, Double.NaN, Double.NaN, false, t1 - t0, 0,
                        Collections.nCopies(heads.size(), Double.NaN));
            }
            gc.backward(l.combined().total());
        }
        optimizer.step(params, lr);
        Map<String, Double> v = l.combined().values();
        List<Double> each = Arrays.stream(l.teacherFeatureValues()).boxed().toList();
        return new StepResult(total, v.get("ce"), v.get("feature"), v.get("kd"), true, t1 - t0,
                System.nanoTime() - t1, each);
    }

    /**
     * Accuracy and mean cross-entropy on a dataset (no augmentation), in its own order; an image that
     * cannot be read is left out (reported in one line), as in training.
     */
    EvalResult evaluate(ImageDataset data, InputNormalization norm, int batchSize) {
        BatchSource batches = new BatchSource(data, 0, batchSize, AugmentPolicy.NONE);
        ParameterStore ps;
        long correct = 0;
        double lossSum = 0;
        long n = 0;
        for (int i = 0; i < batches.batchesPerEpoch(); i++) {
            Batch batch = batches.inOrder(i);
            int b = batch.size();
            try (NDManager sub = manager.newSubManager()) {
                ps = new ParameterStore(sub, false);
                NDArray x = batch.toModelInput(sub, norm);
                NDArray logits = student.forward(ps, x, false, optimizer.updates()).get(1);
                NDArray y = batch.labels(sub);
                correct += logits.argMax(1).toType(DataType.INT64, false).eq(y).sum().getLong();
                lossSum += DistillationLoss.crossEntropy(logits, y, 0).toType(DataType.FLOAT64, false).getDouble() * b;
            }
            n += b;
        }
        return new EvalResult((double) correct / n, lossSum / n, (int) n);
    }

    /** ‖PᵀP − I‖_F of the orthogonal projection (the largest over the heads); NaN for other projections. */
    double orthogonalityError() {
        double worst = Double.NaN;
        for (Head h : heads) {
            if (h.orthogonal() != null) {
                double e = h.orthogonal().orthogonalityError();
                worst = Double.isNaN(worst) ? e : Math.max(worst, e);
            }
        }
        return worst;
    }

    /** The network's state, the projection's parameters and the optimizer state, for a checkpoint. */
    Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>(student.state());
        params.forEach((name, p) -> {
            if (name.startsWith("proj/")) {
                out.put("param/" + name, toTensor(p.getArray()));
            }
        });
        optimizer.state().forEach((name, a) -> out.put("opt/" + name, toTensor(a)));
        return out;
    }

    long optimizerUpdates() {
        return optimizer.updates();
    }

    /** Restores what {@link #stateTensors} wrote; refuses a checkpoint of another architecture. */
    void loadState(Map<String, Tensor> tensors, long optimizerUpdates) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            if (e.getKey().startsWith("proj/")) {
                copyInto(tensors, "param/" + e.getKey(), e.getValue().getArray());
            }
        }
        student.loadState(tensors, manager);
        bindParameters();
        Map<String, NDArray> opt = new LinkedHashMap<>();
        try (NDManager tmp = manager.newSubManager()) {
            // an indexed copy rather than NDArray.set(Buffer): DJL's native set() enters libtorch's
            // deprecated AutoNonVariableTypeMode, which prints a warning nobody can act on
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray a = e.getValue().getArray();
                Tensor t = tensors.get("param/" + e.getKey());
                a.set(new NDIndex(":"), tmp.create(t.toFloats(), a.getShape()));
            }
            tensors.forEach((k, t) -> {
                if (k.startsWith("opt/")) {
                    opt.put(k.substring(4), tmp.create(t.toFloats(), new Shape(toLongs(t.shape()))));
                }
            });
            optimizer.load(opt, optimizerUpdates);
        }
    }

    /** The student network alone. */
    StudentNetwork student() {
        return student;
    }

    /**
     * Writes the trained student in its user's format into {@code dir} ({@code student.pt} for a
     * TorchScript student); null when it has none.
     */
    Path exportStudent(Path dir) throws IOException {
        return student.export(dir);
    }

    /** Copies checkpoint tensor {@code key} into {@code a}, refusing a missing or differently shaped one. */
    static void copyInto(Map<String, Tensor> tensors, String key, NDArray a) {
        Tensor t = tensors.get(key);
        if (t == null || !new Shape(toLongs(t.shape())).equals(a.getShape())) {
            throw new IllegalStateException("checkpoint does not fit this student: parameter "
                    + key.substring("param/".length()) + (t == null ? " is missing" : " has shape "
                    + java.util.Arrays.toString(t.shape()) + ", expected " + a.getShape()));
        }
        a.set(t.toFloats());
    }

    static Tensor toTensor(NDArray a) {
        long[] s = a.getShape().getShape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = Math.toIntExact(s[i]);
        }
        return Tensor.ofFloats(DType.F32, shape, a.toType(DataType.FLOAT32, false).toFloatArray());
    }

    static long[] toLongs(int[] s) {
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i];
        }
        return out;
    }

    @Override
    public void close() {
        student.close();
        manager.close();
    }
}
