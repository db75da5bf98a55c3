package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

@RequiresDataset
class BatchSourceTest {
    private static final ImageDataset TRAIN = Datasets.load("fashion-mnist", Split.TRAIN);

    @Test
    void epochsAreSeededPermutationsAndBatchesTileThem() {
        BatchSource src = new BatchSource(TRAIN.subset(1.0, 1000, 1), 7, 300, AugmentPolicy.parse("crop+flip"));
        assertThat(src.batchesPerEpoch()).isEqualTo(4);
        int[] order0 = src.epochOrder(0);
        assertThat(Arrays.stream(order0).sorted().toArray()).isEqualTo(java.util.stream.IntStream.range(0, 1000).toArray());
        assertThat(src.epochOrder(1)).isNotEqualTo(order0);
        assertThat(new BatchSource(src.dataset(), 8, 300, AugmentPolicy.NONE).epochOrder(0)).isNotEqualTo(order0);
        long seen = 0;
        for (int b = 0; b < 4; b++) {
            seen += src.batch(0, b).size();
        }
        assertThat(seen).isEqualTo(1000);
        assertThat(src.batch(0, 3).size()).isEqualTo(100);
        assertThatThrownBy(() -> src.batch(0, 4)).hasMessageContaining("outside [0, 4)");
    }

    @Test
    void sameCoordinatesSameBatchInANewSource() {
        AugmentPolicy policy = AugmentPolicy.parse("crop+flip+erase");
        Batch a = new BatchSource(TRAIN, 11, 128, policy).batch(2, 33);
        Batch b = new BatchSource(TRAIN, 11, 128, policy).batch(2, 33);
        assertThat(b.sampleIds()).containsExactly(a.sampleIds());
        assertThat(b.augSeeds()).containsExactly(a.augSeeds());
        assertThat(b.inputs()).containsExactly(a.inputs());
        for (int k = 0; k < a.size(); k++) {
            assertThat(a.augSeeds()[k]).isEqualTo(AugmentPolicy.sampleSeed(11, 2, a.sampleIds()[k]));
            assertThat(a.labels()[k]).isEqualTo(TRAIN.label(TRAIN.indexOf(a.sampleIds()[k])));
        }
    }

    @Test
    void referenceModeReplayGivesBitIdenticalModelInputs() {
        AugmentPolicy policy = AugmentPolicy.parse("crop+flip");
        InputNormalization norm = InputNormalization.forDataset(TRAIN);
        Batch teacher = new BatchSource(TRAIN, 99, 64, policy).batch(1, 5);
        // The student has its own source (different run seed is irrelevant: ids and seeds decide).
        Batch student = new BatchSource(TRAIN, 0, 64, policy).replay(1, 5, teacher.sampleIds(), teacher.augSeeds());
        assertThat(student.inputs()).containsExactly(teacher.inputs());
        assertThat(student.labels()).containsExactly(teacher.labels());
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray inline = norm.toModelInput(teacher.inputsU8(m));     // pixels from the record
            NDArray reference = student.toModelInput(m, norm);           // pixels re-derived
            assertThat(inline.getShape().getShape()).containsExactly(64, 1, 28, 28);
            assertThat(inline.toFloatArray()).containsExactly(reference.toFloatArray());
            NDArray inlineF32 = norm.toModelInput(m.create(teacher.inputsUnit(), teacher.shape()));
            assertThat(inlineF32.toFloatArray()).containsExactly(reference.toFloatArray());
            assertThat(inline.mean().getFloat()).isBetween(-0.5f, 0.5f);
        }
        assertThatThrownBy(() -> new BatchSource(TRAIN, 0, 64, policy).replay(0, 0, new long[] {70_000}, new long[] {1}))
                .hasMessageContaining("sample id 70000");
    }
}
