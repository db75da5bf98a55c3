package io.kdstream.student;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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
import io.kdstream.codec.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.model.Architecture;
import io.kdstream.model.FeatureNet;
import io.kdstream.vkd.DistillationLoss;
import io.kdstream.vkd.LossBreakdown;
import io.kdstream.vkd.Normalization;
import io.kdstream.vkd.OrthogonalProjection;

/**
 * The trainable part of a student experiment: the zoo network, the projection into the teacher's
 * feature space, the loss and the optimizer. One {@link #step} is one optimizer step on one
 * Kafka batch; every array it makes lives in a per-step sub-manager, so memory stays flat.
 */
final class StudentModel implements AutoCloseable {

    /** Losses of one step; {@code applied} is false when the loss was not finite and nothing changed. */
    record StepResult(double total, double ce, double feature, double kd, boolean applied, long forwardNanos,
                      long backwardNanos) {
    }

    /** Test-split metrics. */
    record EvalResult(double accuracy, double loss, int samples) {
    }

    private final NDManager manager;
    private final FeatureNet student;
    private final Block projection; // null = identity (d_s = d_t)
    private final OrthogonalProjection orthogonal; // non-null for the VkD maps
    private final Block embeddingNorm; // null unless --student-norm layer
    private final DistillationLoss loss;
    private final ParameterOptimizer optimizer;
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Shape inputShape;

    StudentModel(StudentConfig cfg, RunSpec run) {
        this(cfg, run, null);
    }

    /** Every parameter, optimizer state and per-step array on {@code device} (null: the engine's default). */
    StudentModel(StudentConfig cfg, RunSpec run, Device device) {
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        Engine.getEngine("PyTorch").setRandomSeed((int) cfg.seed());
        List<Integer> in = run.inputShape();
        this.inputShape = new Shape(in.get(0), in.get(1), in.get(2));
        Architecture arch = cfg.arch();
        int ds = arch.featureDim();
        int dt = run.featureDim();
        try {
            student = arch.build(in.get(0), run.numClasses());
            student.initialize(manager, DataType.FLOAT32, new Shape(1, in.get(0), in.get(1), in.get(2)));
            switch (cfg.projection()) {
                case NONE -> {
                    if (ds != dt) {
                        throw new IllegalArgumentException("--projection none needs d_s = d_t, but student "
                                + arch.id() + " has d_s=" + ds + " and the teacher d_t=" + dt);
                    }
                    orthogonal = null;
                    projection = null;
                }
                case LINEAR -> {
                    orthogonal = null;
                    projection = Linear.builder().setUnits(dt).optBias(false).build();
                }
                default -> {
                    orthogonal = OrthogonalProjection.builder().setDims(ds, dt)
                            .optMap(cfg.projection().orthogonalMap()).build();
                    projection = orthogonal;
                }
            }
            if (projection != null) {
                projection.initialize(manager, DataType.FLOAT32, new Shape(1, ds));
            }
            if (cfg.studentNorm() == Normalization.LAYER) {
                embeddingNorm = LayerNorm.builder().axis(1).optCenter(false).optScale(false).build();
                embeddingNorm.initialize(manager, DataType.FLOAT32, new Shape(1, ds));
            } else {
                embeddingNorm = null;
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        for (Pair<String, Parameter> p : student.getParameters()) {
            params.put("student/" + p.getKey(), p.getValue());
        }
        if (projection != null) {
            for (Pair<String, Parameter> p : projection.getParameters()) {
                params.put("proj/" + p.getKey(), p.getValue());
            }
        }
        this.loss = DistillationLoss.builder().optFeatureLoss(cfg.featureLoss())
                .optAlpha(cfg.alpha()).optGamma(cfg.gamma()).optTemperature(cfg.temperature())
                .optLabelSmoothing(cfg.labelSmoothing()).build();
        this.optimizer = ParameterOptimizer.create(cfg.optimizer(), manager, cfg.weightDecay());
    }

    NDManager manager() {
        return manager;
    }

    Shape inputShape() {
        return inputShape;
    }

    /**
     * One optimizer step. Arrays must belong to {@code step}, a sub-manager the caller closes.
     *
     * @param teacherLogits null when the run publishes none
     */
    StepResult step(NDManager step, NDArray x, NDArray labels, NDArray teacher, NDArray teacherLogits, double lr) {
        long t0 = System.nanoTime();
        LossBreakdown l;
        double total;
        ParameterStore ps = new ParameterStore(step, false);
        long t1;
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDList out = student.forward(ps, new NDList(x), true);
            NDArray embedding = embeddingNorm == null ? out.get(0)
                    : embeddingNorm.forward(ps, new NDList(out.get(0)), true).singletonOrThrow();
            NDArray projected = projection == null ? embedding
                    : projection.forward(ps, new NDList(embedding), true).singletonOrThrow();
            l = loss.compute(projected, teacher, out.get(1), labels, teacherLogits);
            total = l.total().toType(DataType.FLOAT64, false).getDouble();
            t1 = System.nanoTime();
            if (!Double.isFinite(total)) {
                return new StepResult(total, Double.NaN, Double.NaN, Double.NaN, false, t1 - t0, 0);
            }
            gc.backward(l.total());
        }
        optimizer.step(params, lr);
        Map<String, Double> v = l.values();
        return new StepResult(total, v.get("ce"), v.get("feature"), v.get("kd"), true, t1 - t0,
                System.nanoTime() - t1);
    }

    /** Accuracy and mean cross-entropy on a dataset (no augmentation). */
    EvalResult evaluate(ImageDataset data, InputNormalization norm, int batchSize) {
        ParameterStore ps;
        long correct = 0;
        double lossSum = 0;
        int n = data.size();
        int sample = data.sampleSize();
        for (int from = 0; from < n; from += batchSize) {
            int b = Math.min(batchSize, n - from);
            byte[] px = new byte[b * sample];
            long[] labels = new long[b];
            for (int i = 0; i < b; i++) {
                data.copyPixels(from + i, px, i * sample);
                labels[i] = data.label(from + i);
            }
            try (NDManager sub = manager.newSubManager()) {
                ps = new ParameterStore(sub, false);
                NDArray x = norm.toModelInput(sub, px, new Shape(b, data.channels(), data.height(), data.width()));
                NDArray logits = student.forward(ps, new NDList(x), false).get(1);
                NDArray y = sub.create(labels);
                correct += logits.argMax(1).toType(DataType.INT64, false).eq(y).sum().getLong();
                lossSum += DistillationLoss.crossEntropy(logits, y, 0).toType(DataType.FLOAT64, false).getDouble() * b;
            }
        }
        return new EvalResult((double) correct / n, lossSum / n, n);
    }

    /** ‖PᵀP − I‖_F of the orthogonal projection; NaN for other projections. */
    double orthogonalityError() {
        return orthogonal == null ? Double.NaN : orthogonal.orthogonalityError();
    }

    /** Parameters and optimizer state, for a checkpoint. */
    Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        params.forEach((name, p) -> out.put("param/" + name, toTensor(p.getArray())));
        optimizer.state().forEach((name, a) -> out.put("opt/" + name, toTensor(a)));
        return out;
    }

    long optimizerUpdates() {
        return optimizer.updates();
    }

    /** Restores what {@link #stateTensors} wrote; refuses a checkpoint of another architecture. */
    void loadState(Map<String, Tensor> tensors, long optimizerUpdates) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            Tensor t = tensors.get("param/" + e.getKey());
            NDArray a = e.getValue().getArray();
            if (t == null || !new Shape(toLongs(t.shape())).equals(a.getShape())) {
                throw new IllegalStateException("checkpoint does not fit this student: parameter " + e.getKey()
                        + (t == null ? " is missing" : " has shape " + java.util.Arrays.toString(t.shape())
                        + ", expected " + a.getShape()));
            }
            a.set(t.toFloats());
        }
        Map<String, NDArray> opt = new LinkedHashMap<>();
        try (NDManager tmp = manager.newSubManager()) {
            tensors.forEach((k, t) -> {
                if (k.startsWith("opt/")) {
                    opt.put(k.substring(4), tmp.create(t.toFloats(), new Shape(toLongs(t.shape()))));
                }
            });
            optimizer.load(opt, optimizerUpdates);
        }
    }

    /** The student network alone, e.g. to save it as a zoo model. */
    FeatureNet student() {
        return student;
    }

    private static Tensor toTensor(NDArray a) {
        long[] s = a.getShape().getShape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = Math.toIntExact(s[i]);
        }
        return Tensor.ofFloats(DType.F32, shape, a.toType(DataType.FLOAT32, false).toFloatArray());
    }

    private static long[] toLongs(int[] s) {
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i];
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
