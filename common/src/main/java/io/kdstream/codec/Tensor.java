package io.kdstream.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable n-dimensional array in safetensors layout: a dtype, a shape and row-major
 * little-endian bytes (its own, or a range of a decoded record value). Independent of any
 * NDManager, so a Kafka (de)serializer can use it without native memory; models convert it to an
 * NDArray at the point of use.
 */
public final class Tensor {

    private final DType dtype;
    private final int[] shape;
    private final byte[] data;
    private final int offset;
    private final int length;

    /**
     * @param data little-endian bytes, taken without copying (the caller hands over ownership)
     * @throws IllegalArgumentException if the byte count does not match dtype and shape
     */
    public Tensor(DType dtype, int[] shape, byte[] data) {
        this(dtype, shape, Objects.requireNonNull(data, "data"), 0, data.length);
    }

    /**
     * A view of {@code length} bytes of {@code data} from {@code offset}, so that a decoder can hand
     * out tensors without copying them out of the record value; the view keeps the whole array
     * alive and the caller must not modify that range afterwards.
     */
    Tensor(DType dtype, int[] shape, byte[] data, int offset, int length) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.data = Objects.requireNonNull(data, "data");
        Objects.checkFromIndexSize(offset, length, data.length);
        this.offset = offset;
        this.length = length;
        long expected = numel(this.shape) * dtype.bytes();
        if (expected != length) {
            throw new IllegalArgumentException("tensor of " + dtype + Arrays.toString(shape) + " needs "
                    + expected + " bytes, got " + length);
        }
    }

    /** Number of elements of a shape; negative dimensions are rejected. */
    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Encodes floats as {@code dtype} (F32, F16, BF16 or F64), rounding to nearest even. */
    public static Tensor ofFloats(DType dtype, int[] shape, float[] values) {
        checkCount(shape, values.length);
        ByteBuffer buf = allocate(values.length, dtype);
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().put(values);
            case F64 -> {
                for (float v : values) {
                    buf.putDouble(v);
                }
            }
            case F16 -> {
                for (float v : values) {
                    buf.putShort(HalfFloats.floatToHalf(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    buf.putShort(HalfFloats.floatToBf16(v));
                }
            }
            default -> throw new IllegalArgumentException("not a floating dtype: " + dtype);
        }
        return new Tensor(dtype, shape, buf.array());
    }

    /** An F64 tensor. */
    public static Tensor ofDoubles(int[] shape, double[] values) {
        checkCount(shape, values.length);
        ByteBuffer buf = allocate(values.length, DType.F64);
        buf.asDoubleBuffer().put(values);
        return new Tensor(DType.F64, shape, buf.array());
    }

    /** An I64 tensor. */
    public static Tensor ofLongs(int[] shape, long[] values) {
        checkCount(shape, values.length);
        ByteBuffer buf = allocate(values.length, DType.I64);
        buf.asLongBuffer().put(values);
        return new Tensor(DType.I64, shape, buf.array());
    }

    /** A U8 tensor (e.g. raw image pixels); the array is copied. */
    public static Tensor ofUnsignedBytes(int[] shape, byte[] values) {
        checkCount(shape, values.length);
        return new Tensor(DType.U8, shape, values.clone());
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis];
    }

    public long numel() {
        return numel(shape);
    }

    /** Size of the raw data in bytes. */
    public int byteSize() {
        return length;
    }

    /** A read-only little-endian view of the raw data (position 0, limit {@link #byteSize()}). */
    public ByteBuffer buffer() {
        return ByteBuffer.wrap(data, offset, length).slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copy of the raw little-endian bytes. */
    public byte[] toByteArray() {
        return Arrays.copyOfRange(data, offset, offset + length);
    }

    /** Values of a floating tensor widened (or narrowed, for F64) to float. */
    public float[] toFloats() {
        int n = (int) numel();
        float[] out = new float[n];
        ByteBuffer buf = buffer();
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().get(out);
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) buf.getDouble();
                }
            }
            case F16 -> HalfFloats.halfToFloat(buf.asShortBuffer(), out, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(buf.getShort());
                }
            }
            case U8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data[offset + i] & 0xff;
                }
            }
            default -> throw new IllegalStateException("cannot read " + dtype + " as float");
        }
        return out;
    }

    /** Values of a floating tensor as double (exact for F64). */
    public double[] toDoubles() {
        if (dtype == DType.F64) {
            double[] out = new double[(int) numel()];
            buffer().asDoubleBuffer().get(out);
            return out;
        }
        float[] f = toFloats();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** Values of an integer tensor (I64, I32 or U8) as long. */
    public long[] toLongs() {
        int n = (int) numel();
        long[] out = new long[n];
        ByteBuffer buf = buffer();
        switch (dtype) {
            case I64 -> buf.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = buf.getInt();
                }
            }
            case U8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data[offset + i] & 0xff;
                }
            }
            default -> throw new IllegalStateException("cannot read " + dtype + " as long");
        }
        return out;
    }

    /** This tensor's values re-encoded as another floating dtype. */
    public Tensor castTo(DType target) {
        if (target == dtype) {
            return this;
        }
        if (target == DType.F64) {
            return ofDoubles(shape, toDoubles());
        }
        return ofFloats(target, shape, toFloats());
    }

    /** True when no element of a floating tensor is NaN or infinite (always true otherwise). */
    public boolean allFinite() {
        if (!dtype.isFloating()) {
            return true;
        }
        ByteBuffer buf = buffer();
        int n = (int) numel();
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    if (!Float.isFinite(buf.getFloat())) {
                        return false;
                    }
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    if (!Double.isFinite(buf.getDouble())) {
                        return false;
                    }
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    if ((buf.getShort() & 0x7c00) == 0x7c00) {
                        return false;
                    }
                }
            }
            default -> { // BF16
                for (int i = 0; i < n; i++) {
                    if ((buf.getShort() & 0x7f80) == 0x7f80) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** Appends the raw bytes to {@code out}, for the encoder. */
    void writeTo(ByteBuffer out) {
        out.put(data, offset, length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && Arrays.equals(data, offset, offset + length, t.data, t.offset, t.offset + t.length);
    }

    @Override
    public int hashCode() {
        int h = 31 * dtype.hashCode() + Arrays.hashCode(shape);
        for (int i = offset; i < offset + length; i++) {
            h = 31 * h + data[i];
        }
        return h;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + Arrays.toString(shape) + "]";
    }

    private static void checkCount(int[] shape, int count) {
        if (numel(shape) != count) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + numel(shape)
                    + " elements, got " + count);
        }
    }

    private static ByteBuffer allocate(int count, DType dtype) {
        return ByteBuffer.allocate(Math.multiplyExact(count, dtype.bytes())).order(ByteOrder.LITTLE_ENDIAN);
    }
}
