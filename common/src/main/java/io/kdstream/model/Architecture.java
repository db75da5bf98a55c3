package io.kdstream.model;

import java.util.Arrays;
import java.util.Locale;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;

/**
 * The model zoo, for 28×28×1 and 32×32×3 inputs (any size works: the convolutional nets end in
 * global average pooling).
 *
 * <ul>
 *   <li>{@code resnet} (teacher): 3×3 stem, two residual stages with stride-2 downsampling
 *       (32→64→128 channels), 1×1 conv to 256, global average pool: d = 256.</li>
 *   <li>{@code cnn} (student): three conv-BN-ReLU layers with max pooling (16→32→64), 1×1 conv to
 *       128, global average pool: d = 128.</li>
 *   <li>{@code mlp} (student): flatten, 256 hidden units, 64 features: d = 64.</li>
 *   <li>{@code vit} (student, the paper's kind): a DeiT-style vision transformer, a 4×4 grid of
 *       patches (7 px for 28×28, 8 px for 32×32), class token, 4 pre-norm blocks of width 128 with
 *       4 heads and MLP 256, final LayerNorm: d = 128, the layer-normalized class token, ~0.54 M
 *       parameters ({@link VisionTransformer}).</li>
 *   <li>{@code vit-pool} (student): the same transformer, distilling what the official VkD DeiT code
 *       distills: the mean of the layer-normalized patch tokens (d = 128), while the classifier
 *       reads the class token.</li>
 * </ul>
 */
public enum Architecture {
    RESNET(256, false) {
        @Override
        Block trunk(int channels) {
            return new SequentialBlock()
                    .add(convBnRelu(32, 3, 1))
                    .add(residual(32, 64, 2))
                    .add(residual(64, 128, 2))
                    .add(convBnRelu(256, 1, 1))
                    .add(Pool.globalAvgPool2dBlock());
        }
    },
    CNN(128, false) {
        @Override
        Block trunk(int channels) {
            return new SequentialBlock()
                    .add(convBnRelu(16, 3, 1))
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(convBnRelu(32, 3, 1))
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(convBnRelu(64, 3, 1))
                    .add(convBnRelu(128, 1, 1))
                    .add(Pool.globalAvgPool2dBlock());
        }
    },
    MLP(64, false) {
        @Override
        Block trunk(int channels) {
            return new SequentialBlock()
                    .add(Blocks.batchFlattenBlock())
                    .add(Linear.builder().setUnits(256).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(64).build())
                    .add(Activation.reluBlock());
        }
    },
    VIT(128, true) {
        @Override
        Block trunk(int channels) {
            // 16 tokens + class token: small enough to train many students on 2 cores
            return new VisionTransformer(channels == 1 ? 7 : 8, 128, 4, 4, 256);
        }
    },
    VIT_POOL(128, true) {
        @Override
        Block trunk(int channels) {
            return new VisionTransformer(channels == 1 ? 7 : 8, 128, 4, 4, 256, VisionTransformer.Pooling.PATCH_MEAN);
        }
    };

    private final int featureDim;
    private final boolean normalizedEmbedding;

    Architecture(int featureDim, boolean normalizedEmbedding) {
        this.featureDim = featureDim;
        this.normalizedEmbedding = normalizedEmbedding;
    }

    abstract Block trunk(int channels);

    public int featureDim() {
        return featureDim;
    }

    /**
     * Whether the embedding leaves the network through a LayerNorm (the ViTs), so VkD distills it as
     * it is, as the official code does; otherwise a student standardizes it first ({@code --student-norm layer}).
     */
    public boolean normalizedEmbedding() {
        return normalizedEmbedding;
    }

    /** Lower-case name used on the command line and in model cards ({@code VIT_POOL} is {@code vit-pool}). */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Architecture parse(String name) {
        for (Architecture a : values()) {
            if (a.id().equalsIgnoreCase(name.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown architecture '" + name + "'; known: "
                + Arrays.stream(values()).map(Architecture::id).toList());
    }

    /** A fresh, uninitialized network for images with {@code channels} channels. */
    public FeatureNet build(int channels, int numClasses) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("zoo models take 1 or 3 input channels, got " + channels);
        }
        return new FeatureNet(trunk(channels), featureDim, numClasses);
    }

    static Block convBnRelu(int filters, int kernel, int stride) {
        return new SequentialBlock()
                .add(conv(filters, kernel, stride))
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock());
    }

    private static Block conv(int filters, int kernel, int stride) {
        return Conv2d.builder()
                .setFilters(filters)
                .setKernelShape(new Shape(kernel, kernel))
                .optStride(new Shape(stride, stride))
                .optPadding(new Shape(kernel / 2, kernel / 2))
                .optBias(false)
                .build();
    }

    /** Basic residual block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)). */
    static Block residual(int in, int out, int stride) {
        Block main = new SequentialBlock()
                .add(convBnRelu(out, 3, stride))
                .add(conv(out, 3, 1))
                .add(BatchNorm.builder().build());
        Block shortcut = (in == out && stride == 1)
                ? Blocks.identityBlock()
                : new SequentialBlock().add(conv(out, 1, stride)).add(BatchNorm.builder().build());
        return new ParallelBlock(list -> new NDList(Activation.relu(
                list.get(0).singletonOrThrow().add(list.get(1).singletonOrThrow()))),
                java.util.List.of(main, shortcut));
    }

    /** The architectures a command line accepts, derived from the constants (a picocli converter and candidates). */
    public static final class Names extends io.kdstream.config.Choice {
        public Names() {
            super(values(), Architecture::id);
        }
    }
}
