package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Property tests: any valid batch round-trips; any corruption is rejected with a reason, never a crash. */
class FeatureBatchPropertiesTest {

    @Property(tries = 200)
    void anyValidBatchRoundTrips(@ForAll("specs") RunSpec spec, @ForAll @IntRange(max = 1) int epoch,
                                 @ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
        FeatureBatch batch = TestBatches.batch(spec, epoch, (int) (seed % spec.batchesPerEpoch()), seed);
        FeatureBatch back = FeatureBatch.decode(batch.encode());
        assertThat(back).isEqualTo(batch);
        new FeatureBatchValidator(spec).validate(back);
    }

    @Property(tries = 200)
    void featureValuesSurviveTheirDtype(@ForAll("dtypes") DType dtype, @ForAll("floats") float[] values) {
        Tensor t = Tensor.ofFloats(dtype, new int[] {values.length}, values);
        float[] once = t.toFloats();
        // Encoding what was decoded is the identity: the first rounding is the only loss.
        assertThat(Tensor.ofFloats(dtype, new int[] {values.length}, once).toFloats()).containsExactly(once);
        if (dtype == DType.F32) {
            assertThat(once).containsExactly(values);
        }
        for (int i = 0; i < values.length; i++) {
            float tol = dtype == DType.F16 ? 1e-3f : dtype == DType.BF16 ? 8e-3f : 0f;
            assertThat(once[i]).isCloseTo(values[i], org.assertj.core.data.Offset.offset(
                    Math.max(tol * Math.abs(values[i]), dtype == DType.F16 ? 6e-8f : 0f)));
        }
    }

    @Property(tries = 500)
    void flippedBytesAreRejectedWithAReasonOrDecodeValidly(@ForAll("specs") RunSpec spec,
                                                           @ForAll @IntRange(min = 1, max = 8) int flips,
                                                           @ForAll @LongRange(min = 0) long seed) {
        byte[] value = TestBatches.batch(spec, 0, 0, seed).encode();
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < flips; i++) {
            // bias towards the header, where corruption changes structure rather than values
            int pos = r.nextBoolean() ? r.nextInt(Math.min(value.length, 400)) : r.nextInt(value.length);
            value[pos] ^= (byte) (1 + r.nextInt(255));
        }
        decodeOrReason(value);
    }

    @Property(tries = 300)
    void truncationIsAlwaysRejected(@ForAll("specs") RunSpec spec, @ForAll @LongRange(min = 0) long seed) {
        byte[] value = TestBatches.batch(spec, 0, 0, seed).encode();
        int cut = (int) (Math.floorMod(seed, (long) value.length));
        InvalidBatchException e = decodeOrReason(Arrays.copyOf(value, cut));
        assertThat(e).as("a value cut to %d of %d bytes must not decode", cut, value.length).isNotNull();
    }

    @Property(tries = 300)
    void hostileHeaderLengthsNeverAllocate(@ForAll long headerLen, @ForAll("smallBytes") byte[] tail) {
        ByteBuffer buf = ByteBuffer.allocate(8 + tail.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(headerLen).put(tail);
        InvalidBatchException e = decodeOrReason(buf.array());
        assertThat(e).isNotNull();
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

    @Provide
    Arbitrary<RunSpec> specs() {
        return Combinators.combine(
                Arbitraries.integers().between(1, 64),
                Arbitraries.integers().between(0, 12),
                Arbitraries.of(DType.F32, DType.F16, DType.BF16),
                Arbitraries.of(InputMode.values()),
                Arbitraries.integers().between(1, 9),
                Arbitraries.of("layer", "batch", "whiten", "none"))
                .as((d, logits, dtype, mode, batch, norm) -> new RunSpec(RunSpec.SCHEMA_VERSION, "prop-run",
                        "synthetic", "teacher", "pool", d, logits, 10, List.of(1, 4, 3), norm, dtype, mode, "none",
                        batch, 2, 5, 3L));
    }

    @Provide
    Arbitrary<DType> dtypes() {
        return Arbitraries.of(DType.F32, DType.F16, DType.BF16);
    }

    @Provide
    Arbitrary<float[]> floats() {
        return Arbitraries.floats().between(-60000f, 60000f).array(float[].class).ofMinSize(1).ofMaxSize(64);
    }

    @Provide
    Arbitrary<byte[]> smallBytes() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
    }
}
