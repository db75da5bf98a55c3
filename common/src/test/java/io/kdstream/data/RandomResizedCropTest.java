package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --augment rrc+flip: torchvision's RandomResizedCrop draws, integer boxes recorded, views rebuilt exactly. */
class RandomResizedCropTest {

    @TempDir
    Path tmp;

    @Test
    void boxesFollowTorchvisionsRulesAndFitTheSource() {
        AugmentPolicy rrc = AugmentPolicy.parse("rrc+flip");
        assertThat(rrc.toString()).isEqualTo("rrc+flip");
        assertThat(AugmentPolicy.parse("rrc").toString()).isEqualTo("rrc");
        assertThatThrownBy(() -> AugmentPolicy.parse("rrc+crop")).hasMessageContaining("rrc goes alone or with flip");
        int flips = 0;
        for (long seed = 0; seed < 2000; seed++) {
            int h = 300 + (int) (seed % 200);
            int w = 400 + (int) (seed % 173);
            AugmentPolicy.View v = rrc.cropBox(seed, h, w);
            assertThat(v.top()).isBetween(0, h - v.height());
            assertThat(v.left()).isBetween(0, w - v.width());
            assertThat(v.height()).isBetween(1, h);
            assertThat(v.width()).isBetween(1, w);
            double area = (double) v.height() * v.width() / (h * w);
            double ratio = (double) v.width() / v.height();
            if (v.height() != h || v.width() != w) { // not the whole-image fallback
                assertThat(area).as("seed %d", seed).isBetween(0.07, 1.0);
                assertThat(ratio).as("seed %d", seed).isBetween(0.7, 1.4);
            }
            flips += v.flip() ? 1 : 0;
            assertThat(rrc.cropBox(seed, h, w)).isEqualTo(v); // a pure function of (seed, size)
        }
        assertThat(flips).isBetween(900, 1100);
    }

    @Test
    void aSourceTooThinForAnyAttemptFallsBackToTheCentreClampedToTheRatioRange() {
        AugmentPolicy rrc = AugmentPolicy.parse("rrc");
        // 1000 wide, 10 high: no crop of ratio <= 4/3 and area >= 8% fits: the centre 13x10 (round(10*4/3))
        AugmentPolicy.View wide = rrc.cropBox(5, 10, 1000);
        assertThat(new int[] {wide.top(), wide.left(), wide.height(), wide.width()}).containsExactly(0, 493, 10, 13);
        AugmentPolicy.View tall = rrc.cropBox(5, 1000, 10);
        assertThat(new int[] {tall.top(), tall.left(), tall.height(), tall.width()}).containsExactly(493, 0, 13, 10);
        assertThat(wide.flip()).isFalse();
    }

    @Test
    void batchesCarryBoxesAndFlipsAndReplayToTheSameBytes() throws IOException {
        new SyntheticCorpus(2, 6, 90, 0).write(tmp, 6, 0);
        ImageDataset ds = ImageFolderReader.read(tmp.resolve("train"), "c", Split.TRAIN, new ImageSize(32, 32));
        BatchSource src = new BatchSource(ds, 3, 6, AugmentPolicy.parse("rrc+flip"));
        Batch b = src.batch(0, 0);
        assertThat(b.cropBoxes()).hasSize(6 * Batch.BOX);
        assertThat(b.flips()).hasSize(6);
        for (int k = 0; k < 6; k++) {
            int row = ds.indexOf(b.sampleIds()[k]);
            ImageDecoder.Planes source = ds.sourcePixels(row);
            assertThat(b.cropBoxes()[k * Batch.BOX + 4]).isEqualTo(source.height());
            assertThat(b.cropBoxes()[k * Batch.BOX + 5]).isEqualTo(source.width());
            // the view is the recorded box of the source, resized, mirrored when flips says so
            long[] box = java.util.Arrays.copyOfRange(b.cropBoxes(), k * Batch.BOX, k * Batch.BOX + 4);
            byte[] view = ImageFolderReader.resizeRegion(source, new AugmentPolicy.View((int) box[0], (int) box[1],
                    (int) box[2], (int) box[3], source.height(), source.width(), false), new ImageSize(32, 32));
            byte[] sent = java.util.Arrays.copyOfRange(b.inputs(), k * 3 * 1024, (k + 1) * 3 * 1024);
            assertThat(b.flips()[k] == 1 ? mirrored(view, 3, 32, 32) : view).as("sample %d", k).isEqualTo(sent);
        }
        Batch again = src.replay(0, 0, b.sampleIds(), b.augSeeds());
        assertThat(again.inputs()).isEqualTo(b.inputs());
        assertThat(again.cropBoxes()).isEqualTo(b.cropBoxes());
        assertThat(again.inputChecksums()).isEqualTo(b.inputChecksums());
        assertThat(src.batch(1, 0).cropBoxes()).as("another epoch, other views").isNotEqualTo(b.cropBoxes());
    }

    private static byte[] mirrored(byte[] px, int c, int h, int w) {
        byte[] out = new byte[px.length];
        for (int p = 0; p < c; p++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out[p * h * w + y * w + x] = px[p * h * w + y * w + (w - 1 - x)];
                }
            }
        }
        return out;
    }
}
