package io.kdstream.benchmarks;

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
import io.kdstream.vkd.FeatureLoss;
import io.kdstream.vkd.OrthogonalMap;
import io.kdstream.vkd.OrthogonalProjection;

/**
 * The long-run orthogonality check: Adam on a random float32 regression through the fast path,
 * printing ‖PᵀP − I‖_F as it goes. Args: d_s d_t steps map (default 64 256 10000 matrix_exp).
 */
public final class OrthogonalityDrift {
    private OrthogonalityDrift() {}

    public static void main(String[] args) {
        int dS = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int dT = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        OrthogonalMap map = OrthogonalMap.fromTorchName(args.length > 3 ? args[3] : "matrix_exp");
        int debugEvery = Integer.getInteger("drift.printEvery", 0);
        Engine.getInstance().setRandomSeed(1);
        OrthogonalProjection proj = OrthogonalProjection.builder().setDims(dS, dT).optMap(map).build();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            proj.initialize(m, DataType.FLOAT32, new Shape(64, dS));
            NDArray target = m.randomNormal(new Shape(dT, dS));
            NDArray x = proj.getRawParameter().getArray();
            ParameterStore store = new ParameterStore(m, false);
            Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build();
            double worst = 0;
            long t0 = System.nanoTime();
            for (int step = 1; step <= steps; step++) {
                try (NDManager sub = m.newSubManager()) {
                    NDArray s = sub.randomNormal(new Shape(64, dS));
                    NDArray t = s.matMul(target.transpose());
                    float loss;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray l = FeatureLoss.L2.compute(proj.forward(store, new NDList(s), true).singletonOrThrow(), t);
                        gc.backward(l);
                        loss = l.getFloat();
                    }
                    NDArray g = x.getGradient();
                    g.attach(sub);
                    adam.update("original", x, g);
                    g.subi(g);
                    if (step % 1000 == 0 || step == 1 || !Float.isFinite(loss) || (debugEvery > 0 && step % debugEvery == 0)) {
                        double err = proj.orthogonalityError();
                        worst = Math.max(worst, err);
                        System.out.printf("step %d loss %.4f orthogonality_error %.3e%n", step, loss, err);
                    }
                }
            }
            System.out.printf("%s %d->%d, %d Adam steps (lr 1e-3, float32): max orthogonality error %.3e, %.1f s%n",
                    map.torchName(), dS, dT, steps, worst, (System.nanoTime() - t0) / 1e9);
        }
    }
}
