package io.kdstream.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import org.junit.jupiter.api.Test;

/** The {@code vit} student: the paper's kind of student must be small, trainable and layer-normalized. */
class VisionTransformerTest {

    @Test
    void hasHalfAMillionToTwoMillionParameters() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (int[] chw : new int[][] {{1, 28, 28}, {3, 32, 32}}) {
                FeatureNet net = Architecture.VIT.build(chw[0], 10);
                net.initialize(m, DataType.FLOAT32, new Shape(1, chw[0], chw[1], chw[2]));
                long count = 0;
                for (Pair<String, Parameter> p : net.getParameters()) {
                    count += p.getValue().getArray().size();
                }
                assertThat(count).as("parameters for %dx%dx%d", chw[0], chw[1], chw[2]).isBetween(500_000L, 2_000_000L);
            }
        }
    }

    @Test
    void embeddingIsTheLayerNormalizedClassToken() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            FeatureNet net = Architecture.VIT.build(1, 10);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            NDArray f = net.forward(new ParameterStore(m, false), new NDList(m.randomNormal(new Shape(6, 1, 28, 28))),
                    false).get(0);
            assertThat(f.getShape()).isEqualTo(new Shape(6, 128));
            try (NDManager step = m.newSubManager()) {
                NDList out = net.forward(new ParameterStore(m, false),
                        new NDList(step.randomNormal(new Shape(2, 1, 28, 28))), true);
                // activations belong to the caller's per-step manager, so closing it frees them
                // (they once landed in the parameters' manager: 9 GB after 80 steps, OOM-killed)
                assertThat(out.get(0).getManager()).isSameAs(step);
                assertThat(out.get(1).getManager()).isSameAs(step);
            }
            // freshly initialized LayerNorm has gain 1 and bias 0: every row has mean 0 and variance 1
            float[] mean = f.mean(new int[] {1}).toFloatArray();
            float[] var = f.sub(f.mean(new int[] {1}, true)).square().mean(new int[] {1}).toFloatArray();
            for (int i = 0; i < 6; i++) {
                assertThat(mean[i]).isBetween(-1e-4f, 1e-4f);
                assertThat(var[i]).isBetween(0.99f, 1.01f);
            }
        }
    }

    @Test
    void lossFallsOnASmallBatch() {
        Engine.getEngine("PyTorch").setRandomSeed(3);
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            FeatureNet net = Architecture.VIT.build(1, 10);
            net.initialize(m, DataType.FLOAT32, new Shape(1, 1, 28, 28));
            NDArray x = m.randomNormal(new Shape(32, 1, 28, 28));
            long[] labels = new long[32];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = i % 10;
            }
            NDArray y = m.create(labels).oneHot(10);
            ParameterStore ps = new ParameterStore(m, false);
            double first = Double.NaN;
            double last = Double.NaN;
            for (int step = 0; step < 25; step++) {
                try (NDManager sub = m.newSubManager()) {
                    NDArray loss;
                    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                        NDArray logits = net.forward(ps, new NDList(x), true).get(1);
                        loss = logits.logSoftmax(1).mul(y).sum(new int[] {1}).neg().mean();
                        loss.attach(sub);
                        gc.backward(loss);
                    }
                    double value = loss.getFloat();
                    first = step == 0 ? value : first;
                    last = value;
                    for (Pair<String, Parameter> p : net.getParameters()) {
                        NDArray w = p.getValue().getArray();
                        NDArray g = w.getGradient();
                        w.subi(g.mul(0.05f)); // plain SGD, outside the collector
                        g.subi(g);
                    }
                }
            }
            assertThat(first).isBetween(1.5, 4.0); // ~ln 10 at initialization
            assertThat(last).as("cross-entropy after 25 SGD steps").isLessThan(first * 0.5);
        }
    }
}
