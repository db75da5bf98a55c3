package io.kdstream.model;

import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import io.kdstream.autograd.Scalars;

/**
 * A small DeiT-style vision transformer trunk: non-overlapping patch embedding (a strided
 * convolution), a class token and learned position embeddings, pre-norm transformer blocks
 * ({@code x + attn(ln(x))}, {@code x + mlp(ln(x))}) and a final LayerNorm. What it outputs depends
 * on its {@link Pooling}: the layer-normalized class token [B, dim] as both the distilled embedding
 * and the classifier's input, or, as the official VkD DeiT code does, the mean of the
 * layer-normalized patch tokens as the distilled embedding and the class token for the classifier.
 *
 * <p>Attention is built from matMul and softmax rather than DJL's {@code ScaledDotProductAttentionBlock}
 * so the 1/sqrt(d_head) scale is a libtorch-owned constant ({@link Scalars}): a Java-owned scalar
 * in the autograd graph corrupts gradients after a garbage collection (PLATFORM-NOTES).
 */
public final class VisionTransformer extends AbstractBlock {
    private static final byte VERSION = 1;

    /** Which tokens make the distilled embedding. */
    public enum Pooling {
        /** The class token: one output [B, dim], distilled and classified. */
        CLASS_TOKEN,
        /**
         * Two outputs: the mean of the patch tokens [B, dim] (distilled) and the class token [B, dim]
         * (classified), both after the final LayerNorm. The feature loss then shapes the patch
         * tokens while cross-entropy keeps a token of its own (arXiv 2403.06213's DeiT setup).
         */
        PATCH_MEAN
    }

    private final int dim;
    private final int heads;
    private final Pooling pooling;
    private final Conv2d patchEmbed;
    private final List<EncoderBlock> blocks = new ArrayList<>();
    private final LayerNorm finalNorm;
    private final Parameter classToken;
    private final Parameter positions;

    /**
     * @param patch   patch side in pixels (kernel and stride of the embedding)
     * @param dim     token width = embedding dimension
     * @param depth   transformer blocks
     * @param heads   attention heads ({@code dim} must be a multiple)
     * @param mlpDim  hidden width of each block's MLP
     */
    public VisionTransformer(int patch, int dim, int depth, int heads, int mlpDim) {
        this(patch, dim, depth, heads, mlpDim, Pooling.CLASS_TOKEN);
    }

    /** As above, with the distilled embedding chosen by {@code pooling}. */
    public VisionTransformer(int patch, int dim, int depth, int heads, int mlpDim, Pooling pooling) {
        super(VERSION);
        if (dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
        }
        this.dim = dim;
        this.heads = heads;
        this.pooling = pooling;
        this.patchEmbed = addChildBlock("patch", Conv2d.builder().setFilters(dim)
                .setKernelShape(new Shape(patch, patch)).optStride(new Shape(patch, patch)).build());
        for (int i = 0; i < depth; i++) {
            blocks.add(addChildBlock("block" + i, new EncoderBlock(dim, heads, mlpDim)));
        }
        // the same [dim] scale and shift either way; PATCH_MEAN normalizes every token, not one
        this.finalNorm = addChildBlock("norm", LayerNorm.builder().axis(pooling == Pooling.CLASS_TOKEN ? 1 : 2).build());
        this.classToken = addParameter(Parameter.builder().setName("cls").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1, 1, dim)).optInitializer(new TruncatedNormalInitializer(0.02f)).build());
        this.positions = addParameter(Parameter.builder().setName("pos").setType(Parameter.Type.WEIGHT)
                .optInitializer(new TruncatedNormalInitializer(0.02f)).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = patchEmbed.forward(ps, inputs, training, params).singletonOrThrow(); // [B, D, g, g]
        Shape s = x.getShape();
        long b = s.get(0);
        x = x.reshape(b, dim, s.get(2) * s.get(3)).transpose(0, 2, 1); // [B, T, D]
        // results live in their first operand's manager: start from x (the caller's per-step manager),
        // never from a parameter, or every activation of every step would pile up in the model's manager
        NDArray cls = ps.getValue(classToken, x.getDevice(), training).broadcast(new Shape(b, 1, dim));
        cls.attach(x.getManager());
        x = cls.concat(x, 1);
        x = x.add(ps.getValue(positions, x.getDevice(), training));
        for (EncoderBlock block : blocks) {
            x = block.forward(ps, new NDList(x), training, params).singletonOrThrow();
        }
        if (pooling == Pooling.CLASS_TOKEN) {
            return finalNorm.forward(ps, new NDList(x.get(":, 0, :")), training, params);
        }
        x = finalNorm.forward(ps, new NDList(x), training, params).singletonOrThrow();
        return new NDList(x.get(":, 1:, :").mean(new int[] {1}), x.get(":, 0, :"));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape token = new Shape(inputShapes[0].get(0), dim);
        return pooling == Pooling.CLASS_TOKEN ? new Shape[] {token} : new Shape[] {token, token};
    }

    @Override
    protected void prepare(Shape[] inputShapes) {
        Shape grid = patchEmbed.getOutputShapes(inputShapes)[0];
        positions.setShape(new Shape(1, grid.get(2) * grid.get(3) + 1, dim));
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        patchEmbed.initialize(manager, dataType, inputShapes);
        Shape grid = patchEmbed.getOutputShapes(inputShapes)[0];
        Shape tokens = new Shape(inputShapes[0].get(0), grid.get(2) * grid.get(3) + 1, dim);
        for (EncoderBlock block : blocks) {
            block.initialize(manager, dataType, tokens);
        }
        finalNorm.initialize(manager, dataType, pooling == Pooling.CLASS_TOKEN ? new Shape(inputShapes[0].get(0), dim) : tokens);
    }

    int heads() {
        return heads;
    }

    /** One pre-norm transformer block on [B, T, D] tokens. */
    static final class EncoderBlock extends AbstractBlock {
        private final int dim;
        private final int heads;
        private final LayerNorm norm1;
        private final Linear qkv;
        private final Linear out;
        private final LayerNorm norm2;
        private final Linear fc1;
        private final Linear fc2;

        EncoderBlock(int dim, int heads, int mlpDim) {
            super(VERSION);
            this.dim = dim;
            this.heads = heads;
            this.norm1 = addChildBlock("norm1", LayerNorm.builder().axis(2).build());
            this.qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
            this.out = addChildBlock("proj", Linear.builder().setUnits(dim).build());
            this.norm2 = addChildBlock("norm2", LayerNorm.builder().axis(2).build());
            this.fc1 = addChildBlock("fc1", Linear.builder().setUnits(mlpDim).build());
            this.fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                         PairList<String, Object> params) {
            NDArray x = inputs.singletonOrThrow();
            Shape s = x.getShape();
            long b = s.get(0);
            long t = s.get(1);
            long dh = dim / heads;
            NDArray h = norm1.forward(ps, new NDList(x), training, params).singletonOrThrow();
            NDArray qkvs = qkv.forward(ps, new NDList(h), training, params).singletonOrThrow()
                    .reshape(b, t, 3, heads, dh).transpose(2, 0, 3, 1, 4); // [3, B, H, T, dh]
            NDArray q = Scalars.mul(qkvs.get(0), 1.0 / Math.sqrt(dh));
            NDArray k = qkvs.get(1);
            NDArray v = qkvs.get(2);
            NDArray attention = q.matMul(k.transpose(0, 1, 3, 2)).softmax(-1); // [B, H, T, T]
            NDArray mixed = attention.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, dim);
            x = x.add(out.forward(ps, new NDList(mixed), training, params).singletonOrThrow());
            h = norm2.forward(ps, new NDList(x), training, params).singletonOrThrow();
            h = fc1.forward(ps, new NDList(h), training, params).singletonOrThrow();
            h = fc2.forward(ps, new NDList(Activation.gelu(h)), training, params).singletonOrThrow();
            return new NDList(x.add(h));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {inputShapes[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            Shape tokens = inputShapes[0];
            norm1.initialize(manager, dataType, tokens);
            qkv.initialize(manager, dataType, tokens);
            out.initialize(manager, dataType, tokens);
            norm2.initialize(manager, dataType, tokens);
            fc1.initialize(manager, dataType, tokens);
            fc2.initialize(manager, dataType, new Shape(tokens.get(0), tokens.get(1), fc1.getOutputShapes(new Shape[] {tokens})[0].get(2)));
        }
    }
}
