package io.kdstream.student;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.SampleViews;
import io.kdstream.codec.Int8Features;
import io.kdstream.codec.Tensor;
import io.kdstream.data.Batch;
import io.kdstream.data.BatchSource;
import io.kdstream.data.InputNormalization;

/**
 * Turns a decoded batch into the arrays of one student step: model inputs (inline, or rebuilt from
 * the dataset in reference mode) and float32 teacher tensors. One place, so the trainer and the
 * pipeline benchmark's in-memory feed do exactly the same work per step: a {@link BatchFeed} stages
 * its batches with {@link #stage}, and the public statics are what the benchmark's codec rows time.
 */
public final class BatchTensors {

    private final InputNormalization norm;
    private final BatchSource replay;
    private final Shape sample;

    /**
     * @param replay the training data in reference mode, else null
     * @param sample the model's input shape [C, H, W]
     */
    BatchTensors(InputNormalization norm, BatchSource replay, Shape sample) {
        this.norm = norm;
        this.replay = replay;
        this.sample = sample;
    }

    /**
     * The fetch thread's staging: {@link #stage} plus, in reference mode, the batch's inputs rebuilt
     * from the dataset (read and decoded by the data workers) ahead of its step.
     */
    Staged stageAhead(FeatureBatch batch) {
        Staged staged = stage(batch);
        if (replay == null || batch.inlineInputs().isPresent()) {
            return staged;
        }
        return new Staged(staged.features(), staged.logits(), replayed(batch));
    }

    /** The batch rebuilt from the dataset, checked against the teacher's checksums when the record has them. */
    private Batch replayed(FeatureBatch batch) {
        Batch rebuilt = replay.replay(batch.metadata().epoch(), batch.metadata().batchIndex(), batch.sampleIds(),
                batch.augSeeds());
        batch.sampleViews().ifPresent(v -> verify(batch, v, rebuilt));
        return rebuilt;
    }

    /**
     * Stops on the first sample whose rebuilt inputs are not the bytes the teacher saw: a student
     * reading another copy of the data (or decoding it differently) must never train on other views.
     */
    static void verify(FeatureBatch batch, SampleViews teacher, Batch rebuilt) {
        long[] mine = rebuilt.inputChecksums();
        long[] theirs = teacher.inputChecksums();
        for (int k = 0; k < mine.length; k++) {
            if (mine[k] != theirs[k]) {
                throw new InputsDifferException(String.format(java.util.Locale.ROOT,
                        "reference-mode inputs differ from the teacher's: batch %s, sample id %d (row %d) has CRC32C "
                                + "%08x here and %08x at the teacher%s; this student reads another copy of the dataset or "
                                + "decodes it differently, so it stops rather than train on other views",
                        batch.recordKey(), batch.sampleIds()[k], k, mine[k], theirs[k], box(teacher, rebuilt, k)));
            }
        }
    }

    private static String box(SampleViews teacher, Batch rebuilt, int k) {
        if (teacher.cropBoxes() == null || rebuilt.cropBoxes() == null) {
            return "";
        }
        long[] t = java.util.Arrays.copyOfRange(teacher.cropBoxes(), k * Batch.BOX, (k + 1) * Batch.BOX);
        long[] m = java.util.Arrays.copyOfRange(rebuilt.cropBoxes(), k * Batch.BOX, (k + 1) * Batch.BOX);
        return java.util.Arrays.equals(t, m) ? " (same crop box)"
                : " (crop box top,left,h,w,source h,w " + java.util.Arrays.toString(m) + " here, "
                        + java.util.Arrays.toString(t) + " at the teacher)";
    }

    /** Rebuilt reference-mode inputs are not what the teacher saw. */
    static final class InputsDifferException extends IllegalStateException {
        InputsDifferException(String message) {
            super(message);
        }
    }

    NDArray inputs(NDManager sub, FeatureBatch batch, Staged staged) {
        Shape shape = new Shape(batch.batchSize(), sample.get(0), sample.get(1), sample.get(2));
        if (batch.inlineInputs().isPresent()) {
            Tensor in = batch.inlineInputs().get();
            if (in.dtype() == DType.U8) {
                return norm.toModelInput(sub, in.toByteArray(), shape);
            }
            return sub.create(in.toFloats(), shape);
        }
        Batch rebuilt = staged != null && staged.replayed() != null ? staged.replayed() : replayed(batch);
        return rebuilt.toModelInput(sub, norm);
    }

    /**
     * A batch's teacher tensors copied, once, into direct buffers that libtorch can use in place.
     * The fetch thread does this ahead of training, so that the trainer's thread only wraps them
     * ({@code from_blob}, no copy) and widens f16 to f32 inside libtorch: the Java-side widening
     * and DJL's per-array direct-buffer allocation cost more than a small student's step
     * (docs/benchmarks.md, pipeline).
     */
    public record Staged(ByteBuffer features, ByteBuffer logits, Batch replayed) {
        public Staged(ByteBuffer features, ByteBuffer logits) {
            this(features, logits, null);
        }
    }

    /**
     * Stages F16 and F32 tensors; I8 features are dequantized here, on the fetch thread, into a
     * float32 direct buffer; others (BF16) take the Java path at step time.
     */
    public static Staged stage(FeatureBatch b) {
        ByteBuffer features = b.featureScales() != null ? dequantized(b) : direct(b.teacherFeatures());
        return new Staged(features, b.logits().map(BatchTensors::direct).orElse(null));
    }

    private static ByteBuffer dequantized(FeatureBatch b) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return null;
        }
        ByteBuffer d = ByteBuffer.allocateDirect(Math.multiplyExact((int) b.teacherFeatures().numel(), Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        Int8Features.dequantizeInto(b.teacherFeatures(), b.featureScales(), d);
        return d.flip();
    }

    /** The batch's teacher features as float32, from its staged copy when there is one. */
    public static NDArray features(NDManager sub, FeatureBatch b, Staged staged) {
        if (staged != null && staged.features() != null && b.featureScales() != null) {
            return sub.create(staged.features().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                    new Shape(b.batchSize(), b.featureDim()), DataType.FLOAT32);
        }
        if (b.featureScales() != null) {
            return sub.create(b.featureFloats(), new Shape(b.batchSize(), b.featureDim()));
        }
        return staged != null ? floats(sub, b.teacherFeatures(), staged.features()) : floats(sub, b.teacherFeatures());
    }

    /** The batch's teacher logits as float32, or null when it has none. */
    public static NDArray logits(NDManager sub, FeatureBatch b, Staged staged) {
        if (b.logits().isEmpty()) {
            return null;
        }
        return staged != null ? floats(sub, b.logits().get(), staged.logits()) : floats(sub, b.logits().get());
    }

    /** Null for what libtorch cannot wrap here: BF16 (DJL 0.36 aborts the JVM on it) or a big-endian host. */
    private static ByteBuffer direct(Tensor t) {
        if ((t.dtype() != DType.F16 && t.dtype() != DType.F32) || ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return null;
        }
        ByteBuffer d = ByteBuffer.allocateDirect(t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        d.put(t.buffer()).flip();
        return d;
    }

    private static NDArray floats(NDManager sub, Tensor t, ByteBuffer direct) {
        if (direct == null) {
            return floats(sub, t);
        }
        DataType type = t.dtype() == DType.F16 ? DataType.FLOAT16 : DataType.FLOAT32;
        // the NDArray keeps the buffer alive; duplicate() so that its position is never shared
        return sub.create(direct.duplicate().order(ByteOrder.LITTLE_ENDIAN), new Shape(t.dim(0), t.dim(1)), type)
                .toType(DataType.FLOAT32, false);
    }

    /** A [B, D] teacher tensor (features or logits) as float32. */
    public static NDArray floats(NDManager sub, Tensor t) {
        return sub.create(t.toFloats(), new Shape(t.dim(0), t.dim(1))).toType(DataType.FLOAT32, false);
    }
}
