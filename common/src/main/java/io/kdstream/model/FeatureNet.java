package io.kdstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A zoo network: a trunk mapping [B, C, H, W] to pooled features [B, d] and a linear classifier
 * head. One forward returns both, {@code NDList(features, logits)}, so a student's VkD loss and
 * cross-entropy share one pass. A trunk may output a second array [B, d'], the classifier's own
 * input, when what it distills is not what it classifies (a ViT's patch mean and class token).
 */
public final class FeatureNet extends AbstractBlock {
    private static final byte VERSION = 1;

    private final Block trunk;
    private final Block head;
    private final int featureDim;
    private final int numClasses;

    public FeatureNet(Block trunk, int featureDim, int numClasses) {
        super(VERSION);
        if (featureDim <= 0 || numClasses <= 0) {
            throw new IllegalArgumentException("featureDim and numClasses must be positive, got "
                    + featureDim + " and " + numClasses);
        }
        this.trunk = addChildBlock("trunk", trunk);
        this.head = addChildBlock("head", Linear.builder().setUnits(numClasses).build());
        this.featureDim = featureDim;
        this.numClasses = numClasses;
    }

    public int featureDim() {
        return featureDim;
    }

    public int numClasses() {
        return numClasses;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList out = trunk.forward(ps, inputs, training, params);
        NDArray features = out.get(0);
        NDArray logits = head.forward(ps, new NDList(out.get(out.size() - 1)), training, params).singletonOrThrow();
        return new NDList(features, logits);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        long b = inputShapes[0].get(0);
        return new Shape[] {new Shape(b, featureDim), new Shape(b, numClasses)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        trunk.initialize(manager, dataType, inputShapes);
        Shape[] f = trunk.getOutputShapes(inputShapes);
        if (f.length < 1 || f.length > 2 || f[0].dimension() != 2 || f[0].get(1) != featureDim
                || f[f.length - 1].dimension() != 2) {
            throw new IllegalStateException("trunk outputs " + java.util.Arrays.toString(f)
                    + ", expected [B, " + featureDim + "] and optionally the classifier's input [B, d]");
        }
        head.initialize(manager, dataType, f[f.length - 1]);
    }
}
