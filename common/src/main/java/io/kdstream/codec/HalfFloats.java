package io.kdstream.codec;

/**
 * IEEE 754 binary16 and bfloat16 conversions (Java 17 has neither); round to nearest even,
 * NaN and infinities preserved, so a round trip of a representable value is exact.
 */
final class HalfFloats {

    /** Every binary16 value widened: one load per element instead of branches (256 KiB, stays in L2). */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
            HALF_TO_FLOAT[h] = convertHalf((short) h);
        }
    }

    private HalfFloats() {
    }

    static float halfToFloat(short h) {
        return HALF_TO_FLOAT[h & 0xffff];
    }

    /** Widens {@code n} little-endian binary16 values from {@code src} (a batch's f16 tensor). */
    static void halfToFloat(java.nio.ShortBuffer src, float[] dst, int n) {
        short[] chunk = new short[Math.min(n, 4096)];
        for (int i = 0; i < n; i += chunk.length) {
            int len = Math.min(chunk.length, n - i);
            src.get(chunk, 0, len);
            for (int j = 0; j < len; j++) {
                dst[i + j] = HALF_TO_FLOAT[chunk[j] & 0xffff];
            }
        }
    }

    private static float convertHalf(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) { // inf or NaN
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) { // inf or NaN; keep NaN a NaN
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) { // rounds to >= 65520: overflow to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below the smallest normal half: subnormal or zero
            if (abs < 0x33000000) { // below half of the smallest subnormal (2^-25): rounds to zero
                return (short) sign;
            }
            int e = abs >>> 23;
            int m = (abs & 0x7fffff) | 0x800000;
            int shift = 126 - e; // 14..24 for the subnormal range
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int e = (abs >>> 23) - 112;
        int m = abs & 0x7fffff;
        int half = (e << 10) | (m >>> 13);
        int rem = m & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++; // may carry into the exponent, which is the correct rounding
        }
        return (short) (sign | half);
    }

    static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // quiet NaN, never rounds to infinity
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
