package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import io.kdstream.vkd.Normalization;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.FeatureBatchValidator;

/**
 * Property tests: any valid batch round-trips; any corruption is rejected with a reason, never a
 * crash. Each property runs a fixed number of seeded cases (the first two at the low and high
 * ends of every range, then random ones), so a run is reproducible and a failure names the case
 * seed that replays it. {@code -Dkdstream.property.seed=N} explores other cases.
 */
class FeatureBatchPropertiesTest {

    private static final long SEED = Long.getLong("kdstream.property.seed", 20_261_202L);

    @Test
    void anyValidBatchRoundTrips() {
        forAll("anyValidBatchRoundTrips", 200, g -> {
            RunSpec spec = spec(g);
            int epoch = g.between(0, 1);
            long seed = g.between(0L, 1_000_000L);
            FeatureBatch batch = TestBatches.batch(spec, epoch, (int) (seed % spec.batchesPerEpoch()), seed);
            FeatureBatch back = FeatureBatch.decode(batch.encode());
            assertThat(back).isEqualTo(batch);
            new FeatureBatchValidator(spec).validate(back);
        });
    }

    @Test
    void featureValuesSurviveTheirDtype() {
        forAll("featureValuesSurviveTheirDtype", 200, g -> {
            DType dtype = g.oneOf(DType.F32, DType.F16, DType.BF16);
            float[] values = floats(g);
            Tensor t = Tensor.ofFloats(dtype, new int[] {values.length}, values);
            float[] once = t.toFloats();
            // Encoding what was decoded is the identity: the first rounding is the only loss.
            assertThat(Tensor.ofFloats(dtype, new int[] {values.length}, once).toFloats()).containsExactly(once);
            if (dtype == DType.F32) {
                assertThat(once).containsExactly(values);
            }
            for (int i = 0; i < values.length; i++) {
                float tol = dtype == DType.F16 ? 1e-3f : dtype == DType.BF16 ? 8e-3f : 0f;
                assertThat(once[i]).as("%s of %s", dtype, values[i]).isCloseTo(values[i], Offset.offset(
                        Math.max(tol * Math.abs(values[i]), dtype == DType.F16 ? 6e-8f : 0f)));
            }
        });
    }

    @Test
    void flippedBytesAreRejectedWithAReasonOrDecodeValidly() {
        forAll("flippedBytesAreRejectedWithAReasonOrDecodeValidly", 500, g -> {
            RunSpec spec = spec(g);
            int flips = g.between(1, 8);
            long seed = g.between(0L, Long.MAX_VALUE);
            byte[] value = TestBatches.batch(spec, 0, 0, seed).encode();
            Random r = new Random(seed);
            for (int i = 0; i < flips; i++) {
                // bias towards the header, where corruption changes structure rather than values
                int pos = r.nextBoolean() ? r.nextInt(Math.min(value.length, 400)) : r.nextInt(value.length);
                value[pos] ^= (byte) (1 + r.nextInt(255));
            }
            decodeOrReason(value);
        });
    }

    @Test
    void truncationIsAlwaysRejected() {
        forAll("truncationIsAlwaysRejected", 300, g -> {
            RunSpec spec = spec(g);
            long seed = g.between(0L, Long.MAX_VALUE);
            byte[] value = TestBatches.batch(spec, 0, 0, seed).encode();
            int cut = (int) Math.floorMod(seed, (long) value.length);
            InvalidBatchException e = decodeOrReason(Arrays.copyOf(value, cut));
            assertThat(e).as("a value cut to %d of %d bytes must not decode", cut, value.length).isNotNull();
        });
    }

    @Test
    void hostileHeaderLengthsNeverAllocate() {
        long[] edges = {Long.MIN_VALUE, Long.MAX_VALUE, 0, -1, 1, 2, 7, 8, 64, 65, Integer.MAX_VALUE,
                Integer.MAX_VALUE + 1L, Integer.MIN_VALUE, 100L << 20};
        forAll("hostileHeaderLengthsNeverAllocate", 300, g -> {
            long headerLen = g.index < edges.length ? edges[g.index]
                    : g.random.nextBoolean() ? g.random.nextLong() : g.random.nextInt(1 << 16) - (1 << 15);
            byte[] tail = new byte[g.between(0, 64)];
            g.random.nextBytes(tail);
            ByteBuffer buf = ByteBuffer.allocate(8 + tail.length).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(headerLen).put(tail);
            InvalidBatchException e = decodeOrReason(buf.array());
            assertThat(e).as("header length %d with a %d-byte tail", headerLen, tail.length).isNotNull();
        });
    }

    /** Decodes; returns the rejection, or null when the corrupted value still decodes validly. */
    private static InvalidBatchException decodeOrReason(byte[] value) {
        try {
            FeatureBatch.decode(value);
            return null;
        } catch (InvalidBatchException e) {
            assertThat(e.reason()).isNotNull();
            assertThat(e.getMessage()).isNotBlank();
            return e;
        }
    }

    private static RunSpec spec(Gen g) {
        return RunSpec.builder().setRunId("prop-run").setSource("synthetic", 10, List.of(1, 4, 3))
                .setTeacher("teacher", "pool")
                .setFeatures(g.between(1, 64), g.oneOf(Normalization.LAYER, Normalization.BATCH, Normalization.WHITEN, Normalization.NONE), g.oneOf(DType.F32, DType.F16, DType.BF16, DType.I8))
                .optLogitClasses(g.between(0, 12)).optInputMode(g.oneOf(InputMode.values()))
                .setStream(g.between(1, 9), 5, 2, 3L).build();
    }

    /** 1 to 64 floats in [-60000, 60000], magnitudes spread over 12 decades, with exact edge values mixed in. */
    private static float[] floats(Gen g) {
        float[] edges = {0f, -0f, 60000f, -60000f, 1f, -1f, 0.01f, -0.01f, 5.96e-8f, 6.1e-5f};
        float[] v = new float[g.between(1, 64)];
        for (int i = 0; i < v.length; i++) {
            if (g.index < 2) {
                v[i] = g.index == 0 ? edges[i % edges.length] : (i % 2 == 0 ? 60000f : -60000f);
            } else if (g.random.nextInt(8) == 0) {
                v[i] = edges[g.random.nextInt(edges.length)];
            } else {
                double magnitude = Math.min(60000, Math.pow(10, -7 + 11.8 * g.random.nextDouble()));
                v[i] = (float) (g.random.nextBoolean() ? magnitude : -magnitude);
            }
        }
        return v;
    }

    // ------------------------------------------------------------------ the seeded case runner

    interface Property {
        void check(Gen g) throws Exception;
    }

    private static void forAll(String name, int tries, Property property) {
        SplittableRandom cases = new SplittableRandom(SEED ^ name.hashCode());
        for (int i = 0; i < tries; i++) {
            long caseSeed = cases.nextLong();
            try {
                property.check(new Gen(i, caseSeed));
            } catch (Throwable t) {
                throw new AssertionError(String.format("%s failed at case %d of %d (case seed %d; "
                        + "-Dkdstream.property.seed=%d replays the run): %s", name, i, tries, caseSeed, SEED, t), t);
            }
        }
    }

    /** Values for one case: case 0 takes the low end of every range, case 1 the high end, later cases are random. */
    static final class Gen {
        final int index;
        final Random random;

        Gen(int index, long seed) {
            this.index = index;
            this.random = new Random(seed);
        }

        int between(int lo, int hi) {
            return index == 0 ? lo : index == 1 ? hi : lo + random.nextInt(hi - lo + 1);
        }

        long between(long lo, long hi) {
            if (index < 2) {
                return index == 0 ? lo : hi;
            }
            long span = hi - lo + 1;
            if (span > 0) {
                return lo + Math.floorMod(random.nextLong(), span);
            }
            long v; // the span overflows a long: draw until inside (at least half the draws are)
            do {
                v = random.nextLong();
            } while (v < lo || v > hi);
            return v;
        }

        @SafeVarargs
        final <T> T oneOf(T... choices) {
            return choices[index == 0 ? 0 : index == 1 ? choices.length - 1 : random.nextInt(choices.length)];
        }
    }
}
