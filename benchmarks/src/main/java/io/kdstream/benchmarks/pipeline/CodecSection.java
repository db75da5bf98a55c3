package io.kdstream.benchmarks.pipeline;

import java.util.List;
import java.util.function.LongSupplier;

import ai.djl.ndarray.NDManager;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.Int8Features;
import io.kdstream.student.BatchTensors;

/**
 * Codec throughput against {@code System.arraycopy} and {@code clone}: encode, decode, staging into
 * a direct buffer (the fetch thread's work) and the float32 NDArray the trainer's thread makes, for
 * the demo's batch and a 256 × 3024 one.
 */
final class CodecSection extends PipelineSection {

    CodecSection(Bench bench) {
        super(bench);
    }

    private static volatile long sink;

    void run(FeatureBatch demo) {
        FeatureBatch big = SyntheticBatches.batch(spec("codec", 1), 0, 256, 3024, false);
        // the same batch as int8 (issue 28): dequantized on the fetch thread instead of widened by libtorch
        Int8Features.Quantized q = Int8Features.quantize(big.featureFloats(), 256, 3024);
        FeatureBatch bigI8 = new FeatureBatch(big.metadata(), q.values(), big.teacherLogits(), big.labels(),
                big.sampleIds(), big.augSeeds(), null, q.scales());
        for (FeatureBatch b : List.of(demo, big, bigI8)) {
            byte[] value = b.encode();
            boolean i8 = b.featureScales() != null;
            String name = b.batchSize() + "x" + b.featureDim() + (b.inlineInputs().isPresent() ? " + inputs" : "")
                    + (i8 ? " i8" : "");
            int reps = Math.max(20, 200_000_000 / value.length / 4);
            byte[] dst = new byte[value.length];
            double copy = 0;
            double clone = 0;
            double enc = 0;
            double dec = 0;
            double toArray = 0;
            double widen = 0;
            double old = 0;
            double create = 0;
            FeatureBatch decodedOnce = FeatureBatch.decode(value);
            BatchTensors.Staged stagedOnce = BatchTensors.stage(decodedOnce);
            try (NDManager manager = NDManager.newBaseManager()) {
                for (int round = 0; round < 5; round++) { // interleaved; round 0 is the warm-up
                    double c = mbPerSecond(value.length, reps, () -> {
                        System.arraycopy(value, 0, dst, 0, value.length);
                        return dst[value.length - 1];
                    });
                    double k = mbPerSecond(value.length, reps, () -> value.clone().length);
                    double e = mbPerSecond(value.length, reps, () -> b.encode().length);
                    double d = mbPerSecond(value.length, reps, () -> FeatureBatch.decode(value).batchSize());
                    double a = mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            FeatureBatch decoded = FeatureBatch.decode(value);
                            return BatchTensors.features(sub, decoded, BatchTensors.stage(decoded)).size();
                        }
                    });
                    double w = mbPerSecond(value.length, reps,
                            () -> BatchTensors.stage(decodedOnce).features().capacity());
                    double n = mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            return BatchTensors.features(sub, decodedOnce, stagedOnce).size();
                        }
                    });
                    double o = i8 ? Double.NaN : mbPerSecond(value.length, reps, () -> {
                        try (NDManager sub = manager.newSubManager()) {
                            return BatchTensors.floats(sub, decodedOnce.teacherFeatures()).size();
                        }
                    });
                    if (round > 0) {
                        widen += w / 4;
                        old += o / 4;
                        create += n / 4;
                        copy += c / 4;
                        clone += k / 4;
                        enc += e / 4;
                        dec += d / 4;
                        toArray += a / 4;
                    }
                }
            }
            rows.add(String.format("| codec %s (%d KB): arraycopy | %.0f MB/s |", name, value.length / 1024, copy));
            rows.add(String.format("| codec %s: copy into a new array (`clone`) | %.0f MB/s |", name, clone));
            rows.add(String.format("| codec %s: encode | %.0f MB/s = **%.2f×** arraycopy, %.2f× clone |", name, enc,
                    enc / copy, enc / clone));
            rows.add(String.format("| codec %s: decode | %.0f MB/s = **%.2f×** arraycopy, %.2f× clone |", name, dec,
                    dec / copy, dec / clone));
            rows.add(String.format("| codec %s: of which staging into a direct buffer (fetch thread%s) | %.0f MB/s |",
                    name, i8 ? ", dequantizing" : "", widen));
            rows.add(String.format("| codec %s: of which staged %s → float32 NDArray (trainer thread) | %.0f MB/s |",
                    name, i8 ? "float32" : "f16", create));
            if (!i8) {
                rows.add(String.format("| codec %s: before: widen in Java + float[] → NDArray (trainer thread) | %.0f MB/s |",
                        name, old));
            }
            rows.add(String.format("| codec %s: decode + stage + features to a float32 NDArray | %.0f MB/s = %.3f× arraycopy |",
                    name, toArray, toArray / copy));
        }
    }

    private static double mbPerSecond(int bytes, int reps, LongSupplier op) {
        long sum = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            sum += op.getAsLong();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        sink = sum; // results are used, so the JIT cannot drop the work
        return (double) bytes * reps / s / 1e6;
    }
}
