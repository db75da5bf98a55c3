package io.kdstream.data;

import java.util.Arrays;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-channel input normalization {@code (x/255 - mean) / std} of uint8 images into the float32
 * tensors models see. Computed in Java from a 256-entry table per channel rather than with
 * NDArray ops, so inline mode (pixels from the record) and reference mode (pixels re-derived from
 * the dataset) produce bit-identical model inputs on any machine.
 */
public final class InputNormalization {
    private final float[] mean;
    private final float[] std;
    private final float[][] table;

    public InputNormalization(float[] mean, float[] std) {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("mean and std need one entry per channel, got "
                    + mean.length + " and " + std.length);
        }
        this.mean = mean.clone();
        this.std = std.clone();
        this.table = new float[mean.length][256];
        for (int c = 0; c < mean.length; c++) {
            if (!(std[c] > 0)) {
                throw new IllegalArgumentException("std must be positive, got " + std[c] + " for channel " + c);
            }
            for (int v = 0; v < 256; v++) {
                table[c][v] = (v / 255f - mean[c]) / std[c];
            }
        }
    }

    /**
     * Per-channel values as given on a command line ({@code --input-mean 0.5,0.5,0.5}), for images
     * with {@code channels} channels.
     *
     * @throws IllegalArgumentException in one line naming the values, when the counts do not match
     *                                  the channels or a std is not positive
     */
    /**
     * Checks {@code --input-mean}/{@code --input-std} as far as they can be without the data: both or
     * neither, finite means, positive stds. The channel count is checked by {@link #of}.
     *
     * @throws IllegalArgumentException naming the option
     */
    public static void checkOptions(List<Float> mean, List<Float> std) {
        if ((mean == null) != (std == null)) {
            throw new IllegalArgumentException("--input-mean and --input-std go together; got only "
                    + (mean == null ? "--input-std" : "--input-mean"));
        }
        if (mean != null && (mean.stream().anyMatch(m -> !Float.isFinite(m))
                || std.stream().anyMatch(s -> !(s > 0) || !Float.isFinite(s)))) {
            throw new IllegalArgumentException("--input-mean must be finite and --input-std positive, got mean "
                    + mean + " and std " + std);
        }
    }

    public static InputNormalization of(List<Float> mean, List<Float> std, int channels) {
        if (mean.size() != channels || std.size() != channels) {
            throw new IllegalArgumentException("input mean and std need one value per image channel (" + channels
                    + "), got mean " + mean + " and std " + std);
        }
        float[] m = new float[channels];
        float[] s = new float[channels];
        for (int c = 0; c < channels; c++) {
            m[c] = mean.get(c);
            s[c] = std.get(c);
            if (!Float.isFinite(m[c]) || !(s[c] > 0) || !Float.isFinite(s[c])) {
                throw new IllegalArgumentException("input mean must be finite and std positive, got mean " + mean
                        + " and std " + std);
            }
        }
        return new InputNormalization(m, s);
    }

    /** Whether this is the normalization {@code mean}/{@code std} describe (bit-equal per channel). */
    public boolean sameAs(List<Float> mean, List<Float> std) {
        return mean != null && std != null && equals(of(mean, std, mean.size()));
    }

    /** Known statistics for the named datasets, else per-channel statistics of {@code train}. */
    public static InputNormalization forDataset(ImageDataset train) {
        switch (train.name()) {
            case "fashion-mnist":
                return new InputNormalization(new float[] {0.2860f}, new float[] {0.3530f});
            case "mnist":
                return new InputNormalization(new float[] {0.1307f}, new float[] {0.3081f});
            default:
                return measure(train);
        }
    }

    /** Samples {@link #measure} looks at, at most: a dataset read from disk is not decoded whole for it. */
    public static final int MEASURE_SAMPLES = 1000;

    /**
     * Per-channel mean and standard deviation of the dataset's pixels (in [0, 1] units), over every
     * sample up to {@link #MEASURE_SAMPLES}, else over that many at an even stride.
     */
    public static InputNormalization measure(ImageDataset ds) {
        int c = ds.channels();
        int plane = ds.height() * ds.width();
        double[] sum = new double[c];
        double[] sq = new double[c];
        byte[] px = new byte[ds.sampleSize()];
        int count = Math.min(ds.size(), MEASURE_SAMPLES);
        int read = 0;
        for (int j = 0; j < count; j++) {
            try {
                ds.copyPixels((int) ((long) j * ds.size() / count), px, 0);
            } catch (java.io.UncheckedIOException e) {
                continue; // unreadable: left out here as in every batch (UnreadableSamples reports it there)
            }
            read++;
            for (int k = 0; k < px.length; k++) {
                double v = (px[k] & 0xff) / 255.0;
                sum[k / plane] += v;
                sq[k / plane] += v * v;
            }
        }
        float[] mean = new float[c];
        float[] std = new float[c];
        double n = (double) Math.max(1, read) * plane;
        for (int k = 0; k < c; k++) {
            double m = sum[k] / n;
            mean[k] = (float) m;
            std[k] = (float) Math.max(1e-3, Math.sqrt(Math.max(0, sq[k] / n - m * m)));
        }
        return new InputNormalization(mean, std);
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    public int channels() {
        return mean.length;
    }

    /** Normalizes {@code n} images of {@code channels × plane} uint8 values into a new float array. */
    public float[] normalize(byte[] u8, int channels, int plane) {
        if (channels != mean.length) {
            throw new IllegalArgumentException("normalization has " + mean.length + " channels, images have " + channels);
        }
        if (u8.length % (channels * plane) != 0) {
            throw new IllegalArgumentException(u8.length + " bytes is not a whole number of " + channels + "x" + plane + " images");
        }
        float[] out = new float[u8.length];
        for (int base = 0; base < u8.length; base += channels * plane) {
            for (int c = 0; c < channels; c++) {
                float[] t = table[c];
                int from = base + c * plane;
                for (int k = from; k < from + plane; k++) {
                    out[k] = t[u8[k] & 0xff];
                }
            }
        }
        return out;
    }

    /** uint8 pixels [B, C, H, W] (as bytes) to the normalized float32 NDArray a model takes. */
    public NDArray toModelInput(NDManager manager, byte[] u8, Shape bchw) {
        if (bchw.dimension() != 4 || bchw.size() != u8.length) {
            throw new IllegalArgumentException("shape " + bchw + " does not describe " + u8.length + " pixels as [B,C,H,W]");
        }
        return manager.create(normalize(u8, (int) bchw.get(1), (int) (bchw.get(2) * bchw.get(3))), bchw);
    }

    /**
     * Wire inputs [B, C, H, W] to normalized float32: uint8 pixels, or float32 pixels in [0, 1]
     * (the F32 {@code inputs} option, {@link io.kdstream.data.Batch#inputsUnit}). Float inputs are
     * rounded back to uint8 first, so both encodings give bit-identical model inputs.
     */
    public NDArray toModelInput(NDArray inputs) {
        byte[] u8;
        if (inputs.getDataType() == DataType.UINT8) {
            u8 = inputs.toByteArray();
        } else if (inputs.getDataType() == DataType.FLOAT32) {
            float[] f = inputs.toFloatArray();
            u8 = new byte[f.length];
            for (int k = 0; k < f.length; k++) {
                if (!(f[k] >= 0f && f[k] <= 1f)) {
                    throw new IllegalArgumentException("float32 inputs must be pixels in [0, 1], got " + f[k] + " at " + k);
                }
                u8[k] = (byte) Math.round(f[k] * 255f);
            }
        } else {
            throw new IllegalArgumentException("inputs must be uint8 or float32 in [0, 1], got " + inputs.getDataType());
        }
        return toModelInput(inputs.getManager(), u8, inputs.getShape());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputNormalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "mean=" + Arrays.toString(mean) + " std=" + Arrays.toString(std);
    }
}
