package io.kdstream.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * int8 teacher features (DESIGN.md §4): per-row symmetric quantization, {@code q = round(x / s)}
 * clamped to [−127, 127] with one float32 scale per sample {@code s = max|x_row| / 127}, so
 * {@code x ≈ q · s}. The round-trip error of an element is at most {@code s / 2}. Half the bytes
 * of f16 plus 4 bytes per sample. −128 is never written, so the range is symmetric. An all-zero
 * row gets scale 1 (scales are always positive and finite: the validator refuses others).
 */
public final class Int8Features {

    /** Largest quantized magnitude. */
    public static final int LEVELS = 127;

    private Int8Features() {}

    /** Quantized features [B, d] (I8) and their per-row scales [B] (F32). */
    public record Quantized(Tensor values, Tensor scales) {
    }

    /** Quantizes row-major float features of shape [rows, cols]. */
    public static Quantized quantize(float[] features, int rows, int cols) {
        if ((long) rows * cols != features.length) {
            throw new IllegalArgumentException("expected " + rows + "×" + cols + " values, got " + features.length);
        }
        byte[] q = new byte[features.length];
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            float max = 0;
            for (int c = 0; c < cols; c++) {
                float v = features[base + c];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("teacher features contain non-finite values (row " + r + ")");
                }
                max = Math.max(max, Math.abs(v));
            }
            float s = max > 0 ? max / LEVELS : 1f;
            if (!(s > 0)) { // max so small that max/127 underflows to 0
                s = Float.MIN_NORMAL;
            }
            scales[r] = s;
            for (int c = 0; c < cols; c++) {
                long v = Math.round(features[base + c] / s);
                q[base + c] = (byte) Math.max(-LEVELS, Math.min(LEVELS, v));
            }
        }
        return new Quantized(new Tensor(DType.I8, new int[] {rows, cols}, q),
                Tensor.ofFloats(DType.F32, new int[] {rows}, scales));
    }

    /** {@code q · s} as row-major float32 values. */
    public static float[] dequantize(Tensor values, Tensor scales) {
        float[] out = new float[(int) values.numel()];
        dequantizeInto(values, scales, null, out);
        return out;
    }

    /**
     * Writes {@code q · s} as little-endian float32 into {@code direct} (from its position), the
     * buffer libtorch wraps without a copy.
     */
    public static void dequantizeInto(Tensor values, Tensor scales, ByteBuffer direct) {
        dequantizeInto(values, scales, direct.order(ByteOrder.LITTLE_ENDIAN), null);
    }

    private static void dequantizeInto(Tensor values, Tensor scales, ByteBuffer direct, float[] out) {
        int rows = values.dim(0);
        int cols = values.dim(1);
        float[] s = scales.toFloats();
        ByteBuffer q = values.buffer();
        // row at a time through plain arrays: a per-element ByteBuffer.putFloat ran at ~5 ns an element
        byte[] qRow = new byte[cols];
        float[] row = out != null ? null : new float[cols];
        java.nio.FloatBuffer dst = direct != null ? direct.asFloatBuffer() : null;
        for (int r = 0; r < rows; r++) {
            q.get(qRow);
            float scale = s[r];
            float[] target = out != null ? out : row;
            int base = out != null ? r * cols : 0;
            for (int c = 0; c < cols; c++) {
                target[base + c] = qRow[c] * scale;
            }
            if (dst != null) {
                dst.put(row);
            }
        }
        if (direct != null) {
            direct.position(direct.position() + rows * cols * Float.BYTES);
        }
    }
}
