package io.kdstream.vkd;

import static io.kdstream.vkd.Compare.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.kdstream.autograd.Scalars;
import io.kdstream.vkd.OrthogonalProjection.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class OrthogonalProjectionTest {
    private static NDManager root;

    @BeforeAll
    static void engine() {
        root = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void close() {
        root.close();
    }

    /** P, projected, MSE loss and its gradients w.r.t. X and the student, like the fixture script. */
    private record Result(NDArray p, NDArray projected, NDArray loss, NDArray gradX, NDArray gradStudent) {}

    private static Result run(NDManager m, Fixture f, DataType dtype, Path path) {
        NDArray x = f.array(m, "X", dtype);
        NDArray base = f.has("base") ? f.array(m, "base", dtype) : null;
        NDArray student = f.array(m, "student", dtype);
        NDArray teacher = f.array(m, "teacher", dtype);
        x.setRequiresGradient(true);
        student.setRequiresGradient(true);
        OrthogonalMap map = OrthogonalMap.fromTorchName(f.meta("map"));
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray p = OrthogonalProjection.weight(m, x, base, map, path);
            NDArray projected = student.matMul(p.transpose());
            NDArray loss = FeatureLoss.L2.compute(projected, teacher);
            gc.backward(loss);
            return new Result(p, projected, loss, x.getGradient(), student.getGradient());
        }
    }

    static Stream<Arguments> fixtures() {
        List<Arguments> out = new ArrayList<>();
        for (String shape : List.of("square", "tall_small", "wide_small", "tall", "wide")) {
            for (String map : List.of("matrix_exp", "cayley")) {
                for (DataType dtype : List.of(DataType.FLOAT64, DataType.FLOAT32)) {
                    out.add(Arguments.of("proj_" + shape + "_" + map, dtype));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixtures")
    void fastPathMatchesPyTorch(String name, DataType dtype) {
        checkAgainstFixture(name, dtype, Path.FAST);
    }

    static Stream<Arguments> denseFixtures() {
        // The dense O(n³) path is the reference; the small shapes and one large one keep the run short.
        return Stream.of("proj_square_matrix_exp", "proj_square_cayley", "proj_tall_small_matrix_exp",
                        "proj_wide_small_cayley", "proj_tall_matrix_exp", "proj_wide_cayley")
                .map(n -> Arguments.of(n, DataType.FLOAT64));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("denseFixtures")
    void densePathMatchesPyTorch(String name, DataType dtype) {
        checkAgainstFixture(name, dtype, Path.DENSE);
    }

    private static void checkAgainstFixture(String name, DataType dtype, Path path) {
        Fixture f = Fixture.load(name);
        double tol = dtype == DataType.FLOAT64 ? 1e-9 : 1e-4;
        try (NDManager m = root.newSubManager()) {
            Result r = run(m, f, dtype, path);
            assertThat(r.p.getShape()).isEqualTo(f.shape("P"));
            assertClose("P", r.p, f.doubles("P"), tol);
            assertClose("projected", r.projected, f.doubles("projected"), tol);
            assertClose("loss", r.loss, f.doubles("loss"), tol);
            assertClose("grad_X", r.gradX, f.doubles("grad_X"), tol);
            assertClose("grad_student", r.gradStudent, f.doubles("grad_student"), tol);
            // The stored base is rounded to float32, so PyTorch's own P is only as orthogonal as it.
            double refOrth = OrthogonalProjection.orthogonalityError(m.create(f.doubles("P"), f.shape("P")));
            double orth = OrthogonalProjection.orthogonalityError(r.p);
            assertThat(orth).isLessThan(refOrth + (dtype == DataType.FLOAT64 ? 1e-12 : 1e-4));
        }
    }

    /**
     * DJL's op(Number) frees its scalar before backward; a GC between forward and backward then
     * corrupted gradients (see Scalars). Forward, collect garbage, churn direct buffers, backward.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gcCases")
    void gradientsSurviveGarbageCollectionBeforeBackward(String name) {
        Fixture f = Fixture.load(name);
        for (int trial = 0; trial < 5; trial++) {
            try (NDManager m = root.newSubManager()) {
                NDArray x = f.array(m, "X", DataType.FLOAT64);
                NDArray base = f.array(m, "base", DataType.FLOAT64);
                NDArray student = f.array(m, "student", DataType.FLOAT64);
                NDArray teacher = f.array(m, "teacher", DataType.FLOAT64);
                x.setRequiresGradient(true);
                OrthogonalMap map = OrthogonalMap.fromTorchName(f.meta("map"));
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray p = OrthogonalProjection.weight(m, x, base, map, Path.FAST);
                    NDArray loss = FeatureLoss.SMOOTH_L1.compute(student.matMul(p.transpose()), teacher)
                            .add(FeatureLoss.L2.compute(student.matMul(p.transpose()), teacher));
                    churnNativeBuffers();
                    gc.backward(loss);
                }
                // The same loss without the churn is the reference: L2 gradient + smooth-L1 gradient.
                double[] stressed = x.getGradient().toDoubleArray();
                try (NDManager ref = m.newSubManager()) {
                    NDArray x2 = f.array(ref, "X", DataType.FLOAT64);
                    x2.setRequiresGradient(true);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray p = OrthogonalProjection.weight(ref, x2, base, map, Path.FAST);
                        gc.backward(FeatureLoss.SMOOTH_L1.compute(student.matMul(p.transpose()), teacher)
                                .add(FeatureLoss.L2.compute(student.matMul(p.transpose()), teacher)));
                    }
                    assertThat(stressed).containsExactly(x2.getGradient().toDoubleArray());
                }
            }
        }
    }

    static Stream<String> gcCases() {
        return Stream.of("proj_tall_small_matrix_exp", "proj_wide_small_cayley");
    }

    static void churnNativeBuffers() {
        System.gc();
        List<java.nio.ByteBuffer> junk = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(8);
            b.putDouble(0, 1e30);
            junk.add(b);
        }
        assertThat(junk).hasSize(4000);
    }

    static Stream<Arguments> fdCases() {
        return Stream.of(Arguments.of(5, 9, OrthogonalMap.MATRIX_EXP), Arguments.of(9, 5, OrthogonalMap.MATRIX_EXP),
                Arguments.of(5, 9, OrthogonalMap.CAYLEY), Arguments.of(9, 5, OrthogonalMap.CAYLEY));
    }

    /** Central differences in float64 against the fast path's autograd gradient, entry by entry. */
    @ParameterizedTest(name = "d_s={0} d_t={1} {2}")
    @MethodSource("fdCases")
    void fastPathGradientMatchesFiniteDifferences(int dS, int dT, OrthogonalMap map) {
        Random rng = new Random(42 + dS * 31L + map.ordinal());
        double[] x0 = gaussian(rng, dT * dS, 0.8); // large enough that exp needs squaring
        double[] w = gaussian(rng, dT * dS, 1.0);
        try (NDManager m = root.newSubManager()) {
            NDArray weights = m.create(w, new Shape(dT, dS));
            NDArray x = m.create(x0, new Shape(dT, dS));
            x.setRequiresGradient(true);
            double[] grad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                // A loss that is nonlinear in P, so second-order terms show up if the gradient is wrong.
                NDArray p = OrthogonalProjection.weight(m, x, null, map, Path.FAST);
                NDArray loss = p.mul(weights).sum().square().add(p.mul(p).mul(p).sum());
                gc.backward(loss);
                grad = x.getGradient().toDoubleArray();
            }
            double h = 1e-6;
            double maxErr = 0;
            double maxGrad = 0;
            for (int i = 0; i < x0.length; i++) {
                double[] plus = x0.clone();
                double[] minus = x0.clone();
                plus[i] += h;
                minus[i] -= h;
                double fd = (lossAt(m, plus, weights, dT, dS, map) - lossAt(m, minus, weights, dT, dS, map)) / (2 * h);
                maxErr = Math.max(maxErr, Math.abs(fd - grad[i]));
                maxGrad = Math.max(maxGrad, Math.abs(grad[i]));
            }
            assertThat(maxGrad).isGreaterThan(0.1);
            assertThat(maxErr / maxGrad).isLessThan(1e-7);
        }
    }

    private static double lossAt(NDManager parent, double[] x, NDArray weights, int dT, int dS, OrthogonalMap map) {
        try (NDManager m = parent.newSubManager()) {
            NDArray p = OrthogonalProjection.weight(m, m.create(x, new Shape(dT, dS)), null, map, Path.FAST);
            return p.mul(weights).sum().square().add(p.mul(p).mul(p).sum()).getDouble();
        }
    }

    /** Orthogonality survives optimization in float32: the parametrization, not a penalty, keeps it. */
    @Test
    void orthogonalityHoldsOverManyFloat32Steps() {
        int dS = 24;
        int dT = 96;
        int steps = 300;
        OrthogonalProjection proj = OrthogonalProjection.builder().setDims(dS, dT).build();
        try (NDManager m = root.newSubManager()) {
            proj.initialize(m, DataType.FLOAT32, new Shape(32, dS));
            Random rng = new Random(3);
            // Target: a fixed random linear map (not orthogonal), so the optimizer keeps pushing.
            NDArray target = m.create(toFloat(gaussian(rng, dT * dS, 1.0)), new Shape(dT, dS));
            NDArray x = proj.getRawParameter().getArray();
            ParameterStore store = new ParameterStore(m, false);
            double firstLoss = Double.NaN;
            double lastLoss = Double.NaN;
            Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.02f)).build();
            for (int step = 0; step < steps; step++) {
                try (NDManager sub = m.newSubManager()) {
                    NDArray s = sub.create(toFloat(gaussian(rng, 32 * dS, 1.0)), new Shape(32, dS));
                    NDArray t = s.matMul(target.transpose());
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = proj.forward(store, new NDList(s), true).singletonOrThrow();
                        NDArray loss = FeatureLoss.L2.compute(out, t);
                        gc.backward(loss);
                        lastLoss = loss.getFloat();
                        if (step == 0) {
                            firstLoss = lastLoss;
                        }
                    }
                    NDArray g = x.getGradient();
                    g.attach(sub);
                    adam.update("original", x, g);
                    g.subi(g); // a manual loop must zero accumulated gradients itself
                }
            }
            assertThat(lastLoss).isLessThan(firstLoss * 0.9);
            assertThat(proj.orthogonalityError()).isLessThan(1e-4);
        }
    }

    /** Per-step arrays must all die with the step's sub-manager (DJL leaks native memory otherwise). */
    @ParameterizedTest(name = "{0} {1} randomBase={2}")
    @MethodSource("leakCases")
    void stepsLeaveNoArraysBehind(OrthogonalMap map, Path path, boolean randomBase) {
        OrthogonalProjection.Builder b = OrthogonalProjection.builder().setDims(6, 20).optMap(map).optPath(path);
        OrthogonalProjection proj = (randomBase ? b.optRandomBase(1) : b).build();
        try (NDManager model = root.newSubManager()) {
            proj.initialize(model, DataType.FLOAT32, new Shape(4, 6));
            NDArray x = proj.getRawParameter().getArray();
            ParameterStore store = new ParameterStore(model, false);
            int[] counts = new int[4];
            for (int step = 0; step < counts.length; step++) {
                try (NDManager sub = model.newSubManager()) {
                    NDArray s = sub.ones(new Shape(4, 6));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = proj.forward(store, new NDList(s), true).singletonOrThrow();
                        gc.backward(FeatureLoss.SMOOTH_L1.compute(out, sub.zeros(new Shape(4, 20))));
                    }
                    // Each getGradient() call returns a new handle in the parameter's manager: own it.
                    NDArray g = x.getGradient();
                    g.attach(sub);
                    g.subi(g);
                    proj.orthogonalityError();
                }
                counts[step] = model.getManagedArrays().size();
            }
            // The first step may create the gradient buffer; after that the count must not grow.
            assertThat(counts[3]).isEqualTo(counts[1]);
            // Only the parameters themselves live in the model's manager (initializers clean up too).
            assertThat(model.getManagedArrays()).extracting(NDArray::getName)
                    .containsExactlyInAnyOrderElementsOf(randomBase ? List.of("original", "base") : List.of("original"));
        }
    }

    static Stream<Arguments> leakCases() {
        return Stream.of(Arguments.of(OrthogonalMap.MATRIX_EXP, Path.FAST, true),
                Arguments.of(OrthogonalMap.CAYLEY, Path.FAST, false),
                Arguments.of(OrthogonalMap.MATRIX_EXP, Path.DENSE, false),
                Arguments.of(OrthogonalMap.CAYLEY, Path.DENSE, true));
    }

    @Test
    void blockStartsAtTheBaseEmbeddingLikePyTorch() {
        OrthogonalProjection proj = OrthogonalProjection.builder().setDims(3, 5).optMap(OrthogonalMap.CAYLEY).build();
        try (NDManager m = root.newSubManager()) {
            proj.initialize(m, DataType.FLOAT64, new Shape(2, 3));
            // X = −I gives A = 0, so P = base[:, :k] = the first k columns of the identity.
            assertClose("P at init", proj.weight(m), m.eye(5, 3, 0, DataType.FLOAT64).toDoubleArray(), 0);
            NDArray s = m.create(new double[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3));
            NDArray out = proj.forward(new ParameterStore(m, false), new NDList(s), false).singletonOrThrow();
            assertThat(out.getShape()).isEqualTo(new Shape(2, 5));
            assertThat(out.toDoubleArray()).containsExactly(1, 2, 3, 0, 0, 4, 5, 6, 0, 0);
        }
    }

    @Test
    void randomBaseIsOrthogonalAndSeeded() {
        OrthogonalProjection a = OrthogonalProjection.builder().setDims(40, 12).optRandomBase(7).build();
        OrthogonalProjection b = OrthogonalProjection.builder().setDims(40, 12).optRandomBase(7).build();
        try (NDManager m = root.newSubManager()) {
            a.initialize(m, DataType.FLOAT64, new Shape(1, 40));
            b.initialize(m, DataType.FLOAT64, new Shape(1, 40));
            NDArray base = a.getBaseParameter().getArray();
            assertThat(OrthogonalProjection.orthogonalityError(base)).isLessThan(1e-12);
            assertThat(base.toDoubleArray()).containsExactly(b.getBaseParameter().getArray().toDoubleArray());
            assertThat(a.orthogonalityError()).isLessThan(1e-12);
        }
    }

    @Test
    void rejectsBadShapes() {
        OrthogonalProjection proj = OrthogonalProjection.builder().setDims(4, 6).build();
        try (NDManager m = root.newSubManager()) {
            proj.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            ParameterStore store = new ParameterStore(m, false);
            assertThatThrownBy(() -> proj.forward(store, new NDList(m.zeros(new Shape(2, 5))), false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[B, 4]");
            assertThatThrownBy(() -> proj.forward(store,
                            new NDList(m.zeros(new Shape(2, 4), DataType.FLOAT64)), false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("float64");
            assertThatThrownBy(() -> OrthogonalProjection.weight(m, m.zeros(new Shape(6, 4)),
                            m.eye(5), OrthogonalMap.MATRIX_EXP, Path.FAST))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base must be [6, 6]");
        }
        assertThatThrownBy(() -> OrthogonalProjection.builder().setDims(0, 3).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OrthogonalMap.fromTorchName("householder"))
                .hasMessageContaining("matrix_exp or cayley");
    }

    static double[] gaussian(Random rng, int n, double scale) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = rng.nextGaussian() * scale;
        }
        return d;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
