package io.kdstream.data;

/**
 * SplitMix64, the one source of randomness for shuffles, subsets and augmentation. Written out
 * here (not {@link java.util.SplittableRandom}) because the exact sequence is part of the wire
 * contract: a student in another process, JVM version or language must reproduce it.
 */
public final class SeedMix {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private long state;

    public SeedMix(long seed) {
        this.state = seed;
    }

    /** The SplitMix64 finalizer: a bijective 64-bit hash. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Hash of an ordered tuple of longs; order matters, so (a, b) and (b, a) differ. */
    public static long combine(long... parts) {
        long h = mix(GOLDEN);
        for (long p : parts) {
            h = mix((h + GOLDEN) ^ p);
        }
        return h;
    }

    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** Uniform in [0, bound) by rejection, so no modulo bias. */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive: " + bound);
        }
        while (true) {
            long r = nextLong() >>> 1;
            long v = r % bound;
            if (r - v + (bound - 1) >= 0) { // reject the top partial range (overflow test)
                return (int) v;
            }
        }
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Fisher–Yates shuffle in place. */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
