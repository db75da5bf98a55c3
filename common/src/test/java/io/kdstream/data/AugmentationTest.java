package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.lifecycle.WatchedProcess;

class AugmentationTest {
    private static final int H = 6;
    private static final int W = 7;

    /** Two channels with distinct, non-zero values so every move is visible. */
    private static byte[] ramp() {
        byte[] img = new byte[2 * H * W];
        for (int i = 0; i < img.length; i++) {
            img[i] = (byte) (i + 1);
        }
        return img;
    }

    private static byte[] apply(String policy, byte[] src, long seed) {
        byte[] out = new byte[src.length];
        AugmentPolicy.parse(policy).apply(src, 0, 2, H, W, seed, out, 0);
        return out;
    }

    @Test
    void sampleSeedIsPinned() {
        // Wire contract (aug_seeds): changing the derivation breaks every recorded run.
        // every (epoch, sample) of a run gets its own view: no two of 5 x 2,000 share a seed
        Set<Long> seeds = new HashSet<>();
        for (int epoch = 0; epoch < 5; epoch++) {
            for (long sample = 0; sample < 2000; sample++) {
                seeds.add(AugmentPolicy.sampleSeed(20261126L, epoch, sample));
            }
        }
        assertThat(seeds).hasSize(10_000);
        assertThat(AugmentPolicy.sampleSeed(1, 2, 3)).isNotEqualTo(AugmentPolicy.sampleSeed(1, 3, 2));
        assertThat(AugmentPolicy.sampleSeed(20261126L, 3, 12345L)).isEqualTo(PINNED_SEED);
    }

    private static final long PINNED_SEED = 6320619334942209362L;

    @Test
    void noneIsIdentityAndFlipMirrorsOrKeeps() {
        byte[] src = ramp();
        assertThat(apply("none", src, 99)).containsExactly(src);
        byte[] mirrored = new byte[src.length];
        for (int c = 0; c < 2; c++) {
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    mirrored[c * H * W + y * W + x] = src[c * H * W + y * W + (W - 1 - x)];
                }
            }
        }
        int flips = 0;
        for (long seed = 0; seed < 200; seed++) {
            byte[] out = apply("flip", src, seed);
            if (Arrays.equals(out, mirrored)) {
                flips++;
            } else {
                assertThat(out).containsExactly(src);
            }
        }
        assertThat(flips).isBetween(70, 130);
    }

    @Test
    void cropIsAZeroPaddedShiftWithinPadding() {
        byte[] src = ramp();
        Set<String> shifts = new HashSet<>();
        for (long seed = 0; seed < 300; seed++) {
            byte[] out = apply("crop:2", src, seed);
            int[] shift = findShift(src, out);
            assertThat(shift).as("seed %d", seed).isNotNull();
            assertThat(Math.abs(shift[0])).isLessThanOrEqualTo(2);
            assertThat(Math.abs(shift[1])).isLessThanOrEqualTo(2);
            shifts.add(shift[0] + "," + shift[1]);
        }
        assertThat(shifts).hasSize(25);
    }

    @Test
    void eraseChangesABoxInSomeSamplesOnly() {
        byte[] src = ramp();
        int erased = 0;
        for (long seed = 0; seed < 100; seed++) {
            if (!Arrays.equals(apply("erase", src, seed), src)) {
                erased++;
            }
        }
        assertThat(erased).isBetween(25, 75);
    }

    @Test
    void sameSeedSameBytesDifferentSeedDifferentView() {
        byte[] src = ramp();
        for (String p : List.of("flip", "crop", "crop+flip", "crop+flip+erase")) {
            assertThat(apply(p, src, 5)).containsExactly(apply(p, src, 5));
            Set<String> views = new HashSet<>();
            for (long seed = 0; seed < 20; seed++) {
                views.add(Arrays.toString(apply(p, src, seed)));
            }
            assertThat(views).as(p).hasSizeGreaterThan(1);
        }
    }

    @Test
    void policyParsingRoundTripsAndRejectsNonsense() {
        for (String p : List.of("none", "flip", "crop", "crop+flip", "crop:2+flip+erase", "erase")) {
            assertThat(AugmentPolicy.parse(AugmentPolicy.parse(p).toString())).isEqualTo(AugmentPolicy.parse(p));
        }
        assertThat(AugmentPolicy.parse("flip+crop").toString()).isEqualTo("crop+flip");
        assertThatThrownBy(() -> AugmentPolicy.parse("rotate")).hasMessageContaining("unknown augmentation 'rotate'");
        assertThatThrownBy(() -> AugmentPolicy.parse("none+flip")).hasMessageContaining("none");
    }

    @Test
    @RequiresDataset
    void bitIdenticalInASecondJvm() throws Exception {
        String here = AugmentDigest.digest();
        try (WatchedProcess p = WatchedProcess.start(KdstreamJvm.mainClass(AugmentDigest.class).optHeap("512m")
                .optMergedOutput().build())) {
            assertThat(p.assertSuccess(Duration.ofSeconds(60)).stdout()).contains("digest=" + here);
        }
    }

    /** (dy, dx) such that out(y, x) = src(y + dy, x + dx) or 0 outside, or null. */
    private static int[] findShift(byte[] src, byte[] out) {
        for (int dy = -3; dy <= 3; dy++) {
            for (int dx = -3; dx <= 3; dx++) {
                boolean ok = true;
                for (int c = 0; c < 2 && ok; c++) {
                    for (int y = 0; y < H && ok; y++) {
                        for (int x = 0; x < W && ok; x++) {
                            int sy = y + dy;
                            int sx = x + dx;
                            byte want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : src[c * H * W + sy * W + sx];
                            ok = out[c * H * W + y * W + x] == want;
                        }
                    }
                }
                if (ok) {
                    return new int[] {dy, dx};
                }
            }
        }
        return null;
    }
}
