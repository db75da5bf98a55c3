package io.kdstream.codec;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import io.kdstream.codec.InvalidBatchException.Reason;

/**
 * What each sample of a batch looked like when the teacher saw it (DESIGN.md §5): the checksum of
 * its augmented uint8 inputs, and for crop augmentations its integer crop box and flip, so that a
 * reference-mode student can verify its rebuilt inputs and a third-party consumer can rebuild the
 * views without kdstream's code. Optional on the wire: records from before it have none.
 *
 * @param inputChecksums [B] CRC32C of each sample's augmented uint8 C×H×W bytes ({@code input_checksums}, I64)
 * @param cropBoxes      [B×6] or null: top, left, height, width, source height, source width per
 *                       sample, in source pixels ({@code crop_boxes}, I64 [B, 6])
 * @param flips          [B] or null: 1 where the sample was mirrored after the crop ({@code flips}, U8)
 */
public record SampleViews(long[] inputChecksums, long[] cropBoxes, byte[] flips) {
    public static final String INPUT_CHECKSUMS = "input_checksums";
    public static final String CROP_BOXES = "crop_boxes";
    public static final String FLIPS = "flips";
    /** Values per crop box. */
    public static final int BOX = 6;

    public SampleViews {
        Objects.requireNonNull(inputChecksums, INPUT_CHECKSUMS);
        int b = inputChecksums.length;
        if ((cropBoxes == null) != (flips == null)) {
            throw new InvalidBatchException(Reason.MISSING_TENSOR, "'" + CROP_BOXES + "' and '" + FLIPS + "' go together");
        }
        if (cropBoxes != null && (cropBoxes.length != b * BOX || flips.length != b)) {
            throw new InvalidBatchException(Reason.BATCH_SIZE_MISMATCH, "crop_boxes/flips do not have " + b + " rows");
        }
    }

    int size() {
        return inputChecksums.length;
    }

    void putTensors(Map<String, Tensor> t) {
        int b = size();
        t.put(INPUT_CHECKSUMS, Tensor.ofLongs(new int[] {b}, inputChecksums));
        if (cropBoxes != null) {
            t.put(CROP_BOXES, Tensor.ofLongs(new int[] {b, BOX}, cropBoxes));
            t.put(FLIPS, Tensor.ofUnsignedBytes(new int[] {b}, flips));
        }
    }

    /** The views in decoded tensors, or null when the record has none (an older teacher). */
    static SampleViews fromTensors(Map<String, Tensor> t) {
        Tensor sums = t.get(INPUT_CHECKSUMS);
        if (sums == null) {
            if (t.containsKey(CROP_BOXES) || t.containsKey(FLIPS)) {
                throw new InvalidBatchException(Reason.MISSING_TENSOR, "crop boxes without '" + INPUT_CHECKSUMS + "'");
            }
            return null;
        }
        check(sums, INPUT_CHECKSUMS, 1, DType.I64);
        Tensor boxes = t.get(CROP_BOXES);
        Tensor flips = t.get(FLIPS);
        if (boxes != null) {
            check(boxes, CROP_BOXES, 2, DType.I64);
            if (boxes.dim(1) != BOX) {
                throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "'" + CROP_BOXES + "' has shape "
                        + Arrays.toString(boxes.shape()) + ", expected [B, " + BOX + "]");
            }
        }
        if (flips != null) {
            check(flips, FLIPS, 1, DType.U8);
        }
        return new SampleViews(sums.toLongs(), boxes == null ? null : boxes.toLongs(),
                flips == null ? null : flips.toByteArray());
    }

    private static void check(Tensor x, String name, int rank, DType dtype) {
        if (x.dtype() != dtype || x.rank() != rank) {
            throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "tensor '" + name + "' is " + x.dtype() + " "
                    + Arrays.toString(x.shape()) + ", expected rank " + rank + " " + dtype);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SampleViews v && Arrays.equals(inputChecksums, v.inputChecksums)
                && Arrays.equals(cropBoxes, v.cropBoxes) && Arrays.equals(flips, v.flips);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(inputChecksums), Arrays.hashCode(cropBoxes), Arrays.hashCode(flips));
    }

    /** For tests and tools: the named tensors in wire order. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        putTensors(t);
        return t;
    }
}
