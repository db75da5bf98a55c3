package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    @Test
    void everyHalfValueRoundTripsExactly() {
        for (int bits = 0; bits <= 0xffff; bits++) {
            short h = (short) bits;
            float f = HalfFloats.halfToFloat(h);
            short back = HalfFloats.floatToHalf(f);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(HalfFloats.halfToFloat(back))).as("NaN stays NaN for %04x", bits).isTrue();
            } else {
                assertThat(back & 0xffff).as("half %04x -> %s", bits, f).isEqualTo(bits);
            }
        }
    }

    @Test
    void knownHalfEncodings() {
        assertThat(HalfFloats.floatToHalf(1.0f)).isEqualTo((short) 0x3c00);
        assertThat(HalfFloats.floatToHalf(-2.0f)).isEqualTo((short) 0xc000);
        assertThat(HalfFloats.floatToHalf(65504f)).isEqualTo((short) 0x7bff);
        assertThat(HalfFloats.floatToHalf(65520f)).as("overflow rounds to +inf").isEqualTo((short) 0x7c00);
        assertThat(HalfFloats.floatToHalf(0x1p-24f)).as("smallest subnormal").isEqualTo((short) 0x0001);
        assertThat(HalfFloats.floatToHalf(0x1p-26f)).as("below half the smallest subnormal").isEqualTo((short) 0);
        assertThat(HalfFloats.floatToHalf(0.1f)).isEqualTo((short) 0x2e66);
        // ties go to even: 1 + 2^-11 lies exactly between 1.0 and the next half
        assertThat(HalfFloats.floatToHalf(1f + 0x1p-11f)).isEqualTo((short) 0x3c00);
        assertThat(HalfFloats.floatToHalf(1f + 3 * 0x1p-11f)).isEqualTo((short) 0x3c02);
    }

    @Test
    void bf16RoundsToNearestEvenAndKeepsNaN() {
        assertThat(HalfFloats.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
        assertThat(HalfFloats.bf16ToFloat((short) 0x3f80)).isEqualTo(1.0f);
        // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0)
        assertThat(HalfFloats.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        assertThat(HalfFloats.floatToBf16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3f82);
        assertThat(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN)))).isTrue();
        for (int bits = 0; bits <= 0xffff; bits++) {
            float f = HalfFloats.bf16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertThat(HalfFloats.floatToBf16(f) & 0xffff).isEqualTo(bits);
            }
        }
    }
}
