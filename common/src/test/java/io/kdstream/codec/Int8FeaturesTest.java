package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.InvalidBatchException.Reason;
import io.kdstream.vkd.Normalization;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.FeatureBatchValidator;

class Int8FeaturesTest {

    private static final RunSpec I8 = RunSpec.builder().setRunId("i8-run").setSource("synthetic", 10, List.of(1, 2, 2))
            .setTeacher("teacher-xyz", "pool").setFeatures(64, Normalization.LAYER, DType.I8)
            .setStream(16, 4, 1, 5L).build();

    @Test
    void roundTripErrorIsAtMostHalfAStepPerRow() {
        Random r = new Random(11);
        for (int trial = 0; trial < 50; trial++) {
            int rows = 1 + r.nextInt(8);
            int cols = 1 + r.nextInt(300);
            float[] x = new float[rows * cols];
            double spread = Math.pow(10, r.nextInt(7) - 3); // 1e-3 .. 1e3
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (spread * r.nextGaussian());
            }
            Int8Features.Quantized q = Int8Features.quantize(x, rows, cols);
            assertThat(q.values().dtype()).isEqualTo(DType.I8);
            assertThat(q.values().byteSize()).isEqualTo(rows * cols);
            float[] back = Int8Features.dequantize(q.values(), q.scales());
            float[] scales = q.scales().toFloats();
            for (int row = 0; row < rows; row++) {
                float max = 0;
                for (int c = 0; c < cols; c++) {
                    max = Math.max(max, Math.abs(x[row * cols + c]));
                }
                assertThat(scales[row]).isEqualTo(max / 127f);
                for (int c = 0; c < cols; c++) {
                    int i = row * cols + c;
                    // half a quantization step, plus float rounding of the division and product
                    assertThat((double) Math.abs(back[i] - x[i])).as("trial %d element %d", trial, i)
                            .isLessThanOrEqualTo(scales[row] * 0.5 * (1 + 1e-5) + Math.ulp(max));
                }
            }
        }
    }

    @Test
    void zeroRowsGetAPositiveScaleAndDecodeToZero() {
        Int8Features.Quantized q = Int8Features.quantize(new float[] {0, 0, 0, 1, -2, 0.5f}, 2, 3);
        assertThat(q.scales().toFloats()[0]).isEqualTo(1f);
        float[] back = Int8Features.dequantize(q.values(), q.scales());
        assertThat(java.util.Arrays.copyOf(back, 3)).containsExactly(0, 0, 0);
        assertThat(q.values().toByteArray()[4]).as("the row maximum maps to -127, never -128").isEqualTo((byte) -127);
        assertThatThrownBy(() -> Int8Features.quantize(new float[] {1, Float.NaN}, 1, 2))
                .hasMessageContaining("non-finite");
    }

    @Test
    void directBufferStagingMatchesTheJavaPath() {
        FeatureBatch b = TestBatches.batch(I8, 0, 1, 3);
        ByteBuffer d = ByteBuffer.allocateDirect(b.featureDim() * b.batchSize() * 4).order(ByteOrder.LITTLE_ENDIAN);
        Int8Features.dequantizeInto(b.teacherFeatures(), b.featureScales(), d);
        d.flip();
        float[] staged = new float[d.remaining() / 4];
        d.asFloatBuffer().get(staged);
        assertThat(staged).containsExactly(b.featureFloats());
    }

    @Test
    void i8BatchesRoundTripAtHalfTheFeatureBytesOfF16() {
        FeatureBatch b = TestBatches.batch(I8, 0, 2, 9);
        FeatureBatch back = FeatureBatch.decode(b.encode());
        assertThat(back).isEqualTo(b);
        assertThat(new FeatureBatchValidator(I8).validate(back)).isSameAs(back);
        RunSpec f16 = RunSpec.builder().setRunId("i8-run").setSource("synthetic", 10, List.of(1, 2, 2))
                .setTeacher("teacher-xyz", "pool").setFeatures(64, Normalization.LAYER, DType.F16)
                .setStream(16, 4, 1, 5L).build();
        FeatureBatch half = TestBatches.batch(f16, 0, 2, 9);
        // features: B·d bytes + 4 bytes of scale per sample, against 2·B·d
        assertThat(b.teacherFeatures().byteSize() + b.featureScales().byteSize())
                .isEqualTo(half.teacherFeatures().byteSize() / 2 + 4 * 16);
    }

    @Test
    void validatorRefusesNonFiniteOrNonPositiveScales() {
        FeatureBatchValidator v = new FeatureBatchValidator(I8);
        FeatureBatch good = TestBatches.batch(I8, 0, 0, 1);
        for (float bad : new float[] {0f, -0.5f, Float.NaN, Float.POSITIVE_INFINITY}) {
            float[] s = good.featureScales().toFloats();
            s[3] = bad;
            FeatureBatch b = new FeatureBatch(good.metadata(), good.teacherFeatures(), null, good.labels(),
                    good.sampleIds(), good.augSeeds(), good.inputs(), Tensor.ofFloats(DType.F32, new int[] {16}, s));
            FeatureBatch decoded = FeatureBatch.decode(b.encode());
            assertThatThrownBy(() -> v.validate(decoded)).isInstanceOf(InvalidBatchException.class)
                    .satisfies(e -> assertThat(((InvalidBatchException) e).reason()).isEqualTo(Reason.NON_FINITE))
                    .hasMessageContaining("teacher_feature_scales").hasMessageContaining("row 3");
        }
    }

    @Test
    void decoderRefusesI8WithoutScalesAndScalesWithoutI8() {
        FeatureBatch good = TestBatches.batch(I8, 0, 0, 1);
        assertThatThrownBy(() -> new FeatureBatch(good.metadata(), good.teacherFeatures(), null, good.labels(),
                good.sampleIds(), good.augSeeds(), good.inputs()))
                .isInstanceOf(InvalidBatchException.class).hasMessageContaining("teacher_feature_scales");
        Tensor f32 = Tensor.ofFloats(DType.F32, new int[] {16, 64}, good.featureFloats());
        assertThatThrownBy(() -> new FeatureBatch(good.metadata(), f32, null, good.labels(),
                good.sampleIds(), good.augSeeds(), good.inputs(), good.featureScales()))
                .isInstanceOf(InvalidBatchException.class).hasMessageContaining("only goes with I8");
        // an f16 manifest refuses i8 records by dtype
        RunSpec f16 = RunSpec.builder().setRunId("i8-run").setSource("synthetic", 10, List.of(1, 2, 2))
                .setTeacher("teacher-xyz", "pool").setFeatures(64, Normalization.LAYER, DType.F16)
                .setStream(16, 4, 1, 5L).build();
        assertThatThrownBy(() -> new FeatureBatchValidator(f16).validate(good)).hasMessageContaining("feature_dtype");
    }
}
