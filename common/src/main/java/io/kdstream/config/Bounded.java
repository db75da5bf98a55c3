package io.kdstream.config;

import picocli.CommandLine;

/**
 * Numeric options with a range: picocli converters that refuse a value outside it at parse time,
 * naming the option's range, so a bad {@code --lr} fails before the engine or Kafka is touched.
 * {@link #outOfRange()} is a value each refuses (the CLI fuzz test feeds it to every such option).
 */
public abstract class Bounded<T extends Number> implements CommandLine.ITypeConverter<T> {

    private final double min;
    private final boolean minInclusive;
    private final double max;
    private final String range;

    Bounded(double min, boolean minInclusive, double max, String range) {
        this.min = min;
        this.minInclusive = minInclusive;
        this.max = max;
        this.range = range;
    }

    /** A value outside the range. */
    public String outOfRange() {
        return minInclusive ? Long.toString((long) min - 1) : Long.toString((long) min);
    }

    abstract T parse(String value);

    @Override
    public T convert(String value) {
        T v;
        try {
            v = parse(value.trim());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a number (" + range + ")");
        }
        double d = v.doubleValue();
        if (Double.isNaN(d) || (minInclusive ? d < min : d <= min) || d > max) {
            throw new CommandLine.TypeConversionException("'" + value + "' is out of range (" + range + ")");
        }
        return v;
    }

    private abstract static class Int extends Bounded<Integer> {
        Int(int min, int max, String range) {
            super(min, true, max, range);
        }

        @Override
        Integer parse(String value) {
            return Integer.valueOf(value);
        }
    }

    private abstract static class Long64 extends Bounded<Long> {
        Long64(long min, String range) {
            super(min, true, Long.MAX_VALUE, range);
        }

        @Override
        Long parse(String value) {
            return Long.valueOf(value);
        }
    }

    private abstract static class Real extends Bounded<Double> {
        Real(double min, boolean minInclusive, double max, String range) {
            super(min, minInclusive, max, range);
        }

        @Override
        Double parse(String value) {
            return Double.valueOf(value);
        }
    }

    private abstract static class Real32 extends Bounded<Float> {
        Real32(double min, boolean minInclusive, double max, String range) {
            super(min, minInclusive, max, range);
        }

        @Override
        Float parse(String value) {
            return Float.valueOf(value);
        }
    }

    /** A pixel statistic of images scaled to [0, 1]: a per-channel input mean. */
    public static final class PixelMean extends Real32 {
        public PixelMean() {
            super(0, true, 1, "0 to 1: images are scaled to [0, 1] before normalizing");
        }
    }

    /** A per-channel input standard deviation of images scaled to [0, 1]: above 0, at most 1. */
    public static final class PixelStd extends Real32 {
        public PixelStd() {
            super(0, false, 1, "above 0, at most 1: images are scaled to [0, 1] before normalizing");
        }

        @Override
        public String outOfRange() {
            return "0";
        }
    }

    /** An integer of 1 or more (counts, sizes). */
    public static final class PositiveInt extends Int {
        public PositiveInt() {
            super(1, Integer.MAX_VALUE, "1 or more");
        }
    }

    /** An integer from 1 to 100 (a JPEG quality, a percentage). */
    public static final class Percent extends Int {
        public Percent() {
            super(1, 100, "1 to 100");
        }
    }

    /** An integer of 0 or more (0 usually meaning off or all). */
    public static final class NonNegativeInt extends Int {
        public NonNegativeInt() {
            super(0, Integer.MAX_VALUE, "0 or more");
        }
    }

    /** A long of 0 or more. */
    public static final class NonNegativeLong extends Long64 {
        public NonNegativeLong() {
            super(0, "0 or more");
        }
    }

    /** A TCP port, 0 picking a free one. */
    public static final class Port extends Int {
        public Port() {
            super(0, 65535, "0 to 65535");
        }
    }

    /** A TCP port, 0 picking a free one and -1 meaning off. */
    public static final class PortOrOff extends Int {
        public PortOrOff() {
            super(-1, 65535, "-1 (off) or 0 to 65535");
        }
    }

    /** A real above 0 (learning rates, temperatures). */
    public static final class PositiveReal extends Real {
        public PositiveReal() {
            super(0, false, Double.MAX_VALUE, "above 0");
        }

        @Override
        public String outOfRange() {
            return "-1";
        }
    }

    /** A real of 0 or more (loss weights, weight decay). */
    public static final class NonNegativeReal extends Real {
        public NonNegativeReal() {
            super(0, true, Double.MAX_VALUE, "0 or more");
        }
    }

    /** A share: above 0, at most 1. */
    public static final class Fraction extends Real {
        public Fraction() {
            super(0, false, 1, "above 0, at most 1");
        }

        @Override
        public String outOfRange() {
            return "1.5";
        }
    }

    /** A probability-like weight in [0, 1) (label smoothing). */
    public static final class UnitInterval extends Real {
        public UnitInterval() {
            super(0, true, 0.999999, "0 or more, below 1");
        }
    }

    /** A topic replication factor: -1 (the broker's default) or 1 to 32767. */
    public static final class ReplicationFactor extends Bounded<Short> {
        public ReplicationFactor() {
            super(-1, true, Short.MAX_VALUE, "-1 (broker default) or 1 to 32767");
        }

        @Override
        public String outOfRange() {
            return "0";
        }

        @Override
        Short parse(String value) {
            short v = Short.parseShort(value);
            return v == 0 ? -2 : v; // 0 is inside [-1, max] but no replication factor
        }
    }
}
