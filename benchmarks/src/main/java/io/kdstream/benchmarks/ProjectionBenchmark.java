package io.kdstream.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.OrthogonalMap;
import io.kdstream.vkd.OrthogonalProjection;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One training step of the orthogonal projection (forward, MSE loss, backward) at VkD's ImageNet
 * shapes: DeiT-Ti (192) or DeiT-S (384) students into a RegNetY-160 teacher (3024), batch 256,
 * float32. Compare with benchmarks/torch_projection_bench.py run in the same session.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-Xmx3g"})
public class ProjectionBenchmark {

    @Param({"192", "384"})
    public int studentDim;

    @Param({"3024"})
    public int teacherDim;

    /** fast (identity base), fast_base (PyTorch-like random base), dense (O(n³) reference). */
    @Param({"fast", "fast_base", "dense"})
    public String variant;

    @Param({"matrix_exp", "cayley"})
    public String map;

    @Param({"256"})
    public int batch;

    private NDManager manager;
    private OrthogonalProjection projection;
    private NDArray student;
    private NDArray teacher;
    private ParameterStore store;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager("PyTorch");
        OrthogonalProjection.Builder b = OrthogonalProjection.builder()
                .setDims(studentDim, teacherDim)
                .optMap(OrthogonalMap.fromTorchName(map))
                .optPath(variant.equals("dense") ? OrthogonalProjection.Path.DENSE : OrthogonalProjection.Path.FAST);
        if (variant.equals("fast_base")) {
            b.optRandomBase(1);
        }
        projection = b.build();
        projection.initialize(manager, DataType.FLOAT32, new Shape(batch, studentDim));
        // Move X off −I (where A = 0) to a typical trained scale, so exp needs its usual squarings.
        NDArray x = projection.getRawParameter().getArray();
        x.addi(manager.randomNormal(0f, 0.05f, x.getShape(), DataType.FLOAT32));
        student = manager.randomNormal(new Shape(batch, studentDim));
        teacher = manager.randomNormal(new Shape(batch, teacherDim));
        store = new ParameterStore(manager, false);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    @Benchmark
    public double forwardBackward() {
        try (NDManager step = manager.newSubManager()) {
            NDArray s = student.duplicate();
            s.attach(step);
            double loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = projection.forward(store, new NDList(s), true).singletonOrThrow();
                NDArray l = FeatureLoss.L2.compute(out, teacher);
                gc.backward(l);
                loss = l.getFloat();
            }
            NDArray g = projection.getRawParameter().getArray().getGradient();
            g.attach(step);
            loss += g.getFloat(0, 0); // forces the backward to finish before the clock stops
            g.subi(g);
            return loss;
        }
    }
}
