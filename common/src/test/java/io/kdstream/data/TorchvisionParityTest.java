package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * kdstream's JPEG decode and rrc+flip views against Pillow and torchvision 0.14 on the same files
 * ({@code torchvision_views.py}); skipped where Debian's python3-torchvision is not installed.
 * Tolerance: none. Decoding is bit-identical (the JDK's libjpeg and Pillow's libjpeg-turbo share the
 * ISLOW IDCT and fancy upsampling) and so are the views (kdstream resizes in PIL's fixed point).
 */
class TorchvisionParityTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @TempDir
    Path tmp;

    @Test
    void decodeAndViewsMatchPillowAndTorchvision() throws Exception {
        Prerequisites.assume(Need.PYTHON, Files.isExecutable(PYTHON), "needs /usr/bin/python3");

        new SyntheticCorpus(3, 11, 90, 0).write(tmp.resolve("corpus"), 5, 0);
        Path train = tmp.resolve("corpus/train");
        List<Path> files;
        try (Stream<Path> s = Files.walk(train)) {
            files = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList(); // the index's order: ids
        }
        ImageDataset ds = ImageFolderReader.read(train, "c", Split.TRAIN, new ImageSize(224, 224));
        BatchSource src = new BatchSource(ds, 5, 5, AugmentPolicy.parse("rrc+flip"));
        Batch b = src.batch(0, 0);
        Path cases = tmp.resolve("cases");
        Files.createDirectories(cases);
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < b.size(); k++) {
            int id = (int) b.sampleIds()[k];
            String name = "s" + id + ".jpg";
            Files.copy(files.get(id), cases.resolve(name));
            ImageDecoder.Planes source = ds.sourcePixels(ds.indexOf(id));
            png(source.pixels(), source.height(), source.width(), cases.resolve(name + ".src.png"));
            png(java.util.Arrays.copyOfRange(b.inputs(), k * 3 * 224 * 224, (k + 1) * 3 * 224 * 224), 224, 224,
                    cases.resolve(name + ".view.png"));
            long[] box = b.cropBoxes();
            int o = k * Batch.BOX;
            lines.add(name + " " + box[o] + " " + box[o + 1] + " " + box[o + 2] + " " + box[o + 3] + " 224 224 "
                    + b.flips()[k]);
        }
        Files.write(cases.resolve("cases.txt"), lines);
        // the evaluation view after rrc training: Resize(256) + CenterCrop(224)
        ImageDataset eval = ImageFolderReader.read(train, "c", Split.TEST, new ImageSize(224, 224),
                AugmentPolicy.parse("rrc+flip").evalCentreCrop());
        List<String> evals = new ArrayList<>();
        for (int k = 0; k < b.size(); k++) {
            int id = (int) b.sampleIds()[k];
            png(eval.pixels(eval.indexOf(id)), 224, 224, cases.resolve("s" + id + ".jpg.eval.png"));
            evals.add("s" + id + ".jpg 224");
        }
        Files.write(cases.resolve("evals.txt"), evals);
        Path script = tmp.resolve("torchvision_views.py");
        try (var in = getClass().getResourceAsStream("torchvision_views.py")) {
            Files.copy(in, script);
        }
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PYTHON.toString(), script.toString(),
                cases.toString()).redirectErrorStream(true))) {
            out = p.assertSuccess(Duration.ofSeconds(120)).stdout();
        }
        Prerequisites.assume(Need.PYTHON, !out.startsWith("SKIP"), out.strip());
        System.out.println("torchvision parity: " + out.strip());
        String last = out.strip().lines().reduce((a, c) -> c).orElseThrow();
        int maxEval = Integer.parseInt(last.replaceAll(".*max_eval=(\\d+).*", "$1"));
        assertThat(maxEval).as("evaluation view, levels").isZero();
        int maxDecode = Integer.parseInt(last.replaceAll(".*max_decode=(\\d+).*", "$1"));
        int maxView = Integer.parseInt(last.replaceAll(".*max_view=(\\d+).*", "$1"));
        double over1 = Double.parseDouble(last.replaceAll(".*over1=([0-9.]+).*", "$1"));
        assertThat(maxDecode).as("decode, levels").isZero();
        assertThat(maxView).as("view, levels").isZero();
        assertThat(over1).isZero();
    }

    private static void png(byte[] chw, int h, int w, Path file) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                img.setRGB(x, y, (chw[i] & 0xff) << 16 | (chw[plane + i] & 0xff) << 8 | (chw[2 * plane + i] & 0xff));
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }
}
