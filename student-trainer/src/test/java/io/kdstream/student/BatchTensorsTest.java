package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.Tensor;
import io.kdstream.vkd.Normalization;

/** The staged (zero-copy, widened in libtorch) path gives the trainer exactly the decoded values. */
class BatchTensorsTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16", "F32"})
    void stagedTeacherTensorsEqualTheDecodedValues(DType dtype) {
        Random r = new Random(5);
        float[] f = new float[6 * 40];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (r.nextGaussian() * (i % 7 == 0 ? 1e4 : 1)); // large and small magnitudes
        }
        f[3] = Float.MIN_NORMAL; // a subnormal in f16
        float[] logits = new float[6 * 3];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        long[] ids = {0, 1, 2, 3, 4, 5};
        FeatureBatch b = FeatureBatch.decode(new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, "r", 0, 0,
                "t", Normalization.LAYER, "p"), Tensor.ofFloats(dtype, new int[] {6, 40}, f),
                Tensor.ofFloats(dtype, new int[] {6, 3}, logits), ids, ids, ids, null).encode());
        BatchTensors.Staged staged = BatchTensors.stage(b);
        try (NDManager m = NDManager.newBaseManager()) {
            for (int rep = 0; rep < 2; rep++) { // a staged batch is read again on every replay
                NDArray features = BatchTensors.features(m, b, staged);
                NDArray out = BatchTensors.logits(m, b, staged);
                assertThat(features.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(features.getShape().getShape()).containsExactly(6, 40);
                assertThat(features.toFloatArray()).containsExactly(b.teacherFeatures().toFloats());
                assertThat(out.toFloatArray()).containsExactly(b.teacherLogits().toFloats());
            }
            FeatureBatch noLogits = new FeatureBatch(b.metadata(), b.teacherFeatures(), null, ids, ids, ids, null);
            assertThat(BatchTensors.logits(m, noLogits, BatchTensors.stage(noLogits))).isNull();
        }
    }

    @org.junit.jupiter.api.Test
    void int8FeaturesAreDequantizedOnStaging() {
        Random r = new Random(6);
        float[] f = new float[6 * 40];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (r.nextGaussian() * (i < 40 ? 1e-3 : 5)); // rows of very different ranges
        }
        io.kdstream.codec.Int8Features.Quantized q = io.kdstream.codec.Int8Features.quantize(f, 6, 40);
        long[] ids = {0, 1, 2, 3, 4, 5};
        FeatureBatch b = FeatureBatch.decode(new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, "r", 0, 0,
                "t", Normalization.LAYER, "p"), q.values(), null, ids, ids, ids, null, q.scales()).encode());
        BatchTensors.Staged staged = BatchTensors.stage(b);
        assertThat(staged.features()).as("dequantized on the fetch thread").isNotNull();
        try (NDManager m = NDManager.newBaseManager()) {
            for (int rep = 0; rep < 2; rep++) {
                NDArray features = BatchTensors.features(m, b, staged);
                assertThat(features.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(features.getShape().getShape()).containsExactly(6, 40);
                assertThat(features.toFloatArray()).containsExactly(b.featureFloats());
            }
            assertThat(BatchTensors.features(m, b, null).toFloatArray()).containsExactly(b.featureFloats());
        }
    }

    /** A reference-mode student that rebuilds other bytes than the teacher saw stops, naming the first differing sample. */
    @org.junit.jupiter.api.Test
    void rebuiltInputsThatDifferFromTheTeachersStopNamingTheFirstDifferingSample() {
        byte[] pixels = new byte[3 * 4];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) i;
        }
        io.kdstream.data.Batch teacherSaw = new io.kdstream.data.Batch(0, 5, new long[] {40, 41, 42},
                new long[] {0, 1, 0}, new long[] {1, 2, 3}, pixels, 1, 2, 2);
        FeatureBatch record = new FeatureBatch(new BatchMetadata(RunSpec.SCHEMA_VERSION, "r", 0, 5, "t", io.kdstream.vkd.Normalization.LAYER, "p"),
                Tensor.ofFloats(DType.F16, new int[] {3, 2}, new float[6]), null, new long[] {0, 1, 0},
                new long[] {40, 41, 42}, new long[] {1, 2, 3}, null, null,
                new io.kdstream.codec.SampleViews(teacherSaw.inputChecksums(), null, null));
        BatchTensors.verify(record, record.views(), teacherSaw); // the same bytes: no complaint

        byte[] other = pixels.clone();
        other[9] ^= 1; // a pixel of the third sample
        other[11] ^= 1;
        io.kdstream.data.Batch rebuilt = new io.kdstream.data.Batch(0, 5, new long[] {40, 41, 42},
                new long[] {0, 1, 0}, new long[] {1, 2, 3}, other, 1, 2, 2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BatchTensors.verify(record, record.views(), rebuilt))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("reference-mode inputs differ from the teacher's: batch 0/5, sample id 42 (row 2)")
                .hasMessageNotContaining("\n");
    }
}
