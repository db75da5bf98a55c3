package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The optional per-sample views on the wire: they round-trip, and records without them still decode. */
class SampleViewsTest {

    private static FeatureBatch batch(SampleViews views) {
        BatchMetadata meta = new BatchMetadata(BatchMetadata.CURRENT_SCHEMA_VERSION, "r", 1, 2, "t", io.kdstream.vkd.Normalization.LAYER, "p", null);
        return new FeatureBatch(meta, Tensor.ofFloats(DType.F16, new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}),
                null, new long[] {0, 1}, new long[] {10, 11}, new long[] {7, 8}, null, null, views);
    }

    @Test
    void checksumsCropBoxesAndFlipsRoundTripAndOldRecordsHaveNone() {
        SampleViews views = new SampleViews(new long[] {0xdeadbeefL, 42},
                new long[] {1, 2, 30, 40, 375, 500, 0, 0, 375, 500, 375, 500}, new byte[] {1, 0});
        FeatureBatch b = batch(views);
        FeatureBatch back = FeatureBatch.decode(b.encode());
        assertThat(back).isEqualTo(b);
        assertThat(back.sampleViews()).contains(views);
        assertThat(SafeTensors.decode(b.encode()).tensors()).containsKeys("input_checksums", "crop_boxes", "flips");

        FeatureBatch old = batch(null);
        assertThat(FeatureBatch.decode(old.encode()).sampleViews()).isEmpty();
        FeatureBatch sumsOnly = batch(new SampleViews(new long[] {1, 2}, null, null));
        assertThat(SafeTensors.decode(sumsOnly.encode()).tensors()).containsKey("input_checksums")
                .doesNotContainKeys("crop_boxes", "flips");
        assertThat(FeatureBatch.decode(sumsOnly.encode())).isEqualTo(sumsOnly);
    }

    @Test
    void malformedViewsAreRefusedWithAReason() {
        assertThatThrownBy(() -> batch(new SampleViews(new long[] {1}, null, null)))
                .isInstanceOf(InvalidBatchException.class).hasMessageContaining("input_checksums");
        assertThatThrownBy(() -> new SampleViews(new long[] {1, 2}, new long[12], null))
                .isInstanceOf(InvalidBatchException.class).hasMessageContaining("go together");
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("crop_boxes", Tensor.ofLongs(new int[] {2, 6}, new long[12]));
        assertThatThrownBy(() -> SampleViews.fromTensors(t)).isInstanceOf(InvalidBatchException.class);
    }
}
