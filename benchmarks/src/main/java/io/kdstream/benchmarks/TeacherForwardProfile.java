package io.kdstream.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import io.kdstream.data.IdxReader;
import io.kdstream.data.InputNormalization;
import io.kdstream.model.TorchScriptFeatureModel;

/**
 * kdstream's side of the teacher profile (issue 25): the product's TorchScript teacher forward
 * ({@link TorchScriptFeatureModel}, as {@code kdstream teacher --teacher FILE.pt} runs it) over
 * Fashion-MNIST, timed exactly as {@code benchmarks/python/forward_only.py} times PyTorch's (inputs
 * normalized before the clock, 5 warm-up batches), then a second pass under libtorch's profiler.
 * {@code benchmarks/python/profile_table.py} puts the two traces side by side.
 *
 * <pre>java ... TeacherForwardProfile TEACHER.pt IMAGES.gz BATCH LIMIT [TRACE.json]</pre>
 */
public final class TeacherForwardProfile {
    private static final float MEAN = 0.2860f;
    private static final float STD = 0.3530f;

    private TeacherForwardProfile() {
    }

    public static void main(String[] args) throws Exception {
        Path teacherFile = Path.of(args[0]);
        IdxReader.IdxArray images = IdxReader.read(Path.of(args[1]));
        int batch = Integer.parseInt(args[2]);
        int n = Math.min(images.count(), Integer.parseInt(args[3]));
        Path trace = args.length > 4 ? Path.of(args[4]) : null;
        int h = images.dims()[1];
        int w = images.dims()[2];
        InputNormalization norm = new InputNormalization(new float[] {MEAN}, new float[] {STD});
        try (TorchScriptFeatureModel teacher = TorchScriptFeatureModel.loadFile(teacherFile,
                "features,logits", 1, h, w, "fashion-mnist", norm, null);
             NDManager root = NDManager.newBaseManager()) {
            List<NDArray> batches = new ArrayList<>();
            for (int start = 0; start < n; start += batch) {
                int b = Math.min(batch, n - start);
                float[] x = new float[b * h * w];
                for (int i = 0; i < x.length; i++) {
                    x[i] = ((images.data()[start * h * w + i] & 0xff) / 255f - MEAN) / STD;
                }
                batches.add(root.create(x, new Shape(b, 1, h, w)));
            }
            for (NDArray b : batches.subList(0, Math.min(5, batches.size()))) {
                teacher.forward(b).close();
            }
            long t0 = System.nanoTime();
            for (NDArray b : batches) {
                teacher.forward(b).close();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (trace != null) {
                JniUtils.startProfile(false, false, false);
                for (NDArray b : batches) {
                    teacher.forward(b).close();
                }
                JniUtils.stopProfile(trace.toString());
            }
            System.out.printf("{\"images\": %d, \"seconds\": %.3f, \"images_per_second\": %.1f}%n",
                    n, seconds, n / seconds);
        }
    }
}
