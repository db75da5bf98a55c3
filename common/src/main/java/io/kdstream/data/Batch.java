package io.kdstream.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;

/**
 * One training batch as the teacher publishes it: sample ids, labels and augmentation seeds
 * (the wire's {@code sample_ids}, {@code labels}, {@code aug_seeds}, all I64) and the augmented
 * uint8 inputs [B, C, H, W] (the optional {@code inputs}); for crop-from-source augmentations
 * ({@code rrc}) each sample's crop box (top, left, height, width, source height, source width) and
 * flip, as the wire's {@code crop_boxes} and {@code flips}; else null.
 */
public record Batch(int epoch, int index, long[] sampleIds, long[] labels, long[] augSeeds,
                    byte[] inputs, int channels, int height, int width, long[] cropBoxes, byte[] flips) {

    /** Values per crop box: top, left, height, width, source height, source width. */
    public static final int BOX = 6;

    /** A batch whose augmentation records no crop boxes. */
    public Batch(int epoch, int index, long[] sampleIds, long[] labels, long[] augSeeds,
                 byte[] inputs, int channels, int height, int width) {
        this(epoch, index, sampleIds, labels, augSeeds, inputs, channels, height, width, null, null);
    }

    public Batch {
        int b = sampleIds.length;
        if (labels.length != b || augSeeds.length != b || inputs.length != (long) b * channels * height * width) {
            throw new IllegalArgumentException("inconsistent batch: " + b + " ids, " + labels.length + " labels, "
                    + augSeeds.length + " seeds, " + inputs.length + " input bytes");
        }
    }

    public int size() {
        return sampleIds.length;
    }

    /**
     * CRC32C of each sample's augmented uint8 C×H×W bytes: what the teacher saw, for a
     * reference-mode student to check its rebuilt inputs against (the wire's {@code input_checksums}).
     */
    public long[] inputChecksums() {
        int s = channels * height * width;
        long[] out = new long[size()];
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        for (int k = 0; k < out.length; k++) {
            crc.reset();
            crc.update(inputs, k * s, s);
            out[k] = crc.getValue();
        }
        return out;
    }

    public Shape shape() {
        return new Shape(size(), channels, height, width);
    }

    /** The augmented inputs as a uint8 NDArray [B, C, H, W], as they travel in inline mode. */
    public NDArray inputsU8(NDManager manager) {
        return manager.create(ByteBuffer.wrap(inputs), shape(), DataType.UINT8);
    }

    /** The augmented inputs in [0, 1] as float32 (the wire's F32 {@code inputs} option). */
    public float[] inputsUnit() {
        float[] out = new float[inputs.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = (inputs[k] & 0xff) / 255f;
        }
        return out;
    }

    /** Normalized float32 model input [B, C, H, W]. */
    public NDArray toModelInput(NDManager manager, InputNormalization norm) {
        return norm.toModelInput(manager, inputs, shape());
    }

    /** Labels as an int64 NDArray [B]. */
    public NDArray labels(NDManager manager) {
        return manager.create(labels);
    }
}
