package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.RunSpec;

/**
 * Resident memory over a long run of student steps (VkD projection, AdamW, logit KD), printed every
 * 1,000 steps: the figure behind "native memory stays flat" in docs/benchmarks.md.
 *
 * <pre>java -cp ... io.kdstream.student.StudentMemoryBenchmark [steps=10000] [arch=mlp] [batch=64]</pre>
 */
public final class StudentMemoryBenchmark {

    private StudentMemoryBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        String arch = args.length > 1 ? args[1] : "mlp";
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        RunSpec run = new RunSpec(RunSpec.SCHEMA_VERSION, "mem", "synthetic", "t", "pool", 256, 10, 10,
                List.of(1, 28, 28), "layer", DType.F16, InputMode.INLINE, "none", batch, 1, 1, 1L);
        StudentConfig cfg = new StudentConfig(arch, "matrix_exp", "l2", 1.0, 1.0, 4, 0,
                ParameterOptimizer.Kind.ADAMW, 1e-3, 1e-4, LrSchedule.Kind.CONSTANT, 0, 0, 3L);
        long t0 = System.nanoTime();
        try (StudentModel model = new StudentModel(cfg, run)) {
            System.out.printf("step rss_mib ms_per_step%n");
            long last = System.nanoTime();
            for (int s = 1; s <= steps; s++) {
                try (NDManager sub = model.manager().newSubManager()) {
                    model.step(sub, sub.randomNormal(new Shape(batch, 1, 28, 28)),
                            sub.randomInteger(0, 10, new Shape(batch), DataType.INT64),
                            sub.randomNormal(new Shape(batch, 256)), sub.randomNormal(new Shape(batch, 10)), 1e-3);
                }
                if (s % 1000 == 0 || s == 1) {
                    long now = System.nanoTime();
                    System.out.printf("%d %d %.2f%n", s, rssKiB() / 1024, (now - last) / 1e6 / (s == 1 ? 1 : 1000));
                    last = now;
                }
            }
        }
        System.out.printf("total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
