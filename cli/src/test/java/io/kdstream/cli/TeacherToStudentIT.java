package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;

import javax.imageio.ImageIO;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.Tensor;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.student.Checkpoint;
import io.kdstream.student.CheckpointStore;
import io.kdstream.student.StepTrace;
import io.kdstream.vkd.Normalization;

/**
 * What users run, end to end through Kafka and the command line, in short forms: {@code kdstream
 * teacher} publishes a real teacher's features, {@code kdstream student} trains on them. Both run
 * in this JVM against the one broker of the test JVM; the smallest teacher (an MLP) and a few
 * batches each, so the class stays cheap. A student's {@code --trace} is the oracle of what it
 * trained: every batch of every pass exactly once.
 */
@ExtendWith(KafkaExtension.class)
class TeacherToStudentIT {

    private static final int BATCH = 64;
    private static final int TRAIN_LIMIT = 256; // 4 batches an epoch

    @TempDir
    static Path shared;

    private static Path mlpTeacher; // saved once for the class

    @TempDir
    Path tmp;

    /** An untrained MLP teacher for Fashion-MNIST: the features only need to be a real teacher's. */
    private static synchronized Path mlpTeacher() throws IOException {
        if (mlpTeacher == null) {
            DatasetRef data = new DatasetRef("fashion-mnist", 1.0, TRAIN_LIMIT, 1);
            try (DjlFeatureModel t = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist",
                    InputNormalization.forDataset(data.train()))) {
                t.save(shared.resolve("mlp-teacher"));
            }
            mlpTeacher = shared.resolve("mlp-teacher");
        }
        return mlpTeacher;
    }

    @Test
    @RequiresDataset
    void aStudentTrainsToCompletionOnARealTeachersWhitenedStream(TestKafka kafka) throws Exception {
        String run = "e2e-whiten-" + UUID.randomUUID();
        teacher(kafka, run, "--norm", "whiten"); // calibrated on 4 x d_t = 256 samples: the whole split
        assertThat(batches(kafka, run, TRAIN_LIMIT / BATCH)).allSatisfy(b -> {
            assertThat(b.metadata().normalization()).isEqualTo(Normalization.WHITEN);
            assertThat(b.metadata().whiteningSha256()).as("names its calibrated whitening").isNotBlank();
        });
        Path trace = tmp.resolve("whiten.trace");
        student(kafka, run, "whiten", trace);
        assertEveryBatchTrainedOncePerPass(trace, 1);
    }

    @Test
    @RequiresDataset
    void aStudentTrainsOnARealTeachersInt8Stream(TestKafka kafka) throws Exception {
        String run = "e2e-i8-" + UUID.randomUUID();
        teacher(kafka, run, "--feature-dtype", "i8");
        List<FeatureBatch> published = batches(kafka, run, TRAIN_LIMIT / BATCH);
        assertThat(published).allSatisfy(b -> assertThat(b.teacherFeatures().dtype()).isEqualTo(DType.I8));
        Path trace = tmp.resolve("i8.trace");
        student(kafka, run, "i8", trace);
        assertEveryBatchTrainedOncePerPass(trace, 1);
    }

    @Test
    @RequiresDataset
    void replayEpochsTrainEveryBatchOncePerPass(TestKafka kafka) throws Exception {
        String run = "e2e-replay-" + UUID.randomUUID();
        teacher(kafka, run);
        Path trace = tmp.resolve("replay.trace");
        student(kafka, run, "replay", trace, "--replay-epochs", "2");
        assertEveryBatchTrainedOncePerPass(trace, 3); // the run's pass and two replays
    }

    /**
     * An image folder of mixed sizes through Kafka: a reference-mode student, which rebuilds the
     * inputs from sample ids and seeds, ends bit-equal to an inline-mode student, which trains on the
     * inputs the teacher saw; a student whose folder differs in one image stops, naming the sample.
     */
    @Test
    void aReferenceModeStudentOfAnImageFolderSeesTheTeachersInputs(TestKafka kafka) throws Exception {
        Path folder = imageFolder(tmp.resolve("images"), null);
        Path teacherDir = tmp.resolve("folder-teacher");
        try (DjlFeatureModel t = DjlFeatureModel.create(Architecture.MLP, 1, 12, 12, 2, folder.toString(),
                new InputNormalization(new float[] {0.5f}, new float[] {0.25f}))) {
            t.save(teacherDir);
        }
        String inline = "e2e-folder-inline-" + UUID.randomUUID();
        String reference = "e2e-folder-ref-" + UUID.randomUUID();
        for (String[] r : new String[][] {{inline, "inline"}, {reference, "reference"}}) {
            exec("teacher", "--run", r[0], "--teacher", teacherDir.toString(), "--dataset", folder.toString(),
                    "--image-size", "12", "--inputs", r[1], "--augment", "crop+flip", "--batch-size", "8",
                    "--work-partitions", "1", "--progress-interval", "0", "--bootstrap-servers",
                    kafka.bootstrapServers());
        }
        List<FeatureBatch> a = batches(kafka, inline, 4);
        List<FeatureBatch> b = batches(kafka, reference, 4);
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i).sampleIds()).as("same samples").containsExactly(a.get(i).sampleIds());
            assertThat(b.get(i).augSeeds()).as("same seeds").containsExactly(a.get(i).augSeeds());
            assertThat(b.get(i).inlineInputs()).as("reference mode sends no inputs").isEmpty();
            assertThat(a.get(i).inlineInputs()).isPresent();
        }

        Path fromInputs = folderStudent(kafka, inline, "inline", folder);
        Path rebuilt = folderStudent(kafka, reference, "reference", folder);
        assertThat(differing(fromInputs, rebuilt)).as("parameters that differ").isEmpty();

        // a student whose copy of the folder differs in one image stops at once, before training on it
        Path altered = imageFolder(tmp.resolve("images-altered"), "a/3.png");
        String[] args = folderStudentArgs(kafka, reference, "altered", altered);
        StringWriter err = new StringWriter();
        picocli.CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        assertThat(cmd.execute(args)).as("exit code; stderr:%n%s", err).isEqualTo(1);
        assertThat(err.toString()).contains("reference-mode inputs differ from the teacher's");
    }

    private Path folderStudent(TestKafka kafka, String run, String group, Path dataset) throws Exception {
        exec(folderStudentArgs(kafka, run, group, dataset));
        assertThat(StepTrace.replay(tmp.resolve(group + ".trace")).missing(1, 1, 4)).isEmpty();
        return tmp.resolve("ckpt-" + group);
    }

    private String[] folderStudentArgs(TestKafka kafka, String run, String group, Path dataset) {
        return new String[] {"student", "--run", run, "--group", group, "--arch", "mlp", "--checkpoint-dir",
                tmp.resolve("ckpt-" + group).toString(), "--dataset", dataset.toString(), "--optimizer", "sgd",
                "--lr", "0.05", "--warmup-steps", "0", "--idle-timeout", "60s",
                "--manifest-timeout", "60s", "--progress-interval", "0", "--trace",
                tmp.resolve(group + ".trace").toString(), "--bootstrap-servers", kafka.bootstrapServers()};
    }

    /** Names of the parameters whose values differ between the newest checkpoints of two students. */
    private static List<String> differing(Path a, Path b) {
        Checkpoint x = new CheckpointStore(a, 1).latestValid().orElseThrow();
        Checkpoint y = new CheckpointStore(b, 1).latestValid().orElseThrow();
        assertThat(y.tensors().keySet()).isEqualTo(x.tensors().keySet());
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : new TreeMap<>(x.tensors()).entrySet()) {
            float[] p = e.getValue().toFloats();
            float[] q = y.tensors().get(e.getKey()).toFloats();
            for (int i = 0; i < p.length; i++) {
                if (Math.abs(p[i] - q[i]) > 1e-6f * (1 + Math.abs(p[i]))) {
                    out.add(e.getKey());
                    break;
                }
            }
        }
        return out;
    }

    /**
     * 32 training and 8 test grayscale PNGs in two classes, of three sizes (none 12×12, so every
     * one is resized); {@code alter} names one training image whose pixels are changed.
     */
    private static Path imageFolder(Path root, String alter) throws IOException {
        int[][] sizes = {{20, 14}, {16, 16}, {30, 24}};
        Random random = new Random(11);
        for (String split : List.of("train", "test")) {
            int n = split.equals("train") ? 16 : 4;
            for (String cls : List.of("a", "b")) {
                Path dir = Files.createDirectories(root.resolve(split).resolve(cls));
                for (int i = 0; i < n; i++) {
                    int[] wh = sizes[i % sizes.length];
                    BufferedImage img = new BufferedImage(wh[0], wh[1], BufferedImage.TYPE_BYTE_GRAY);
                    int base = cls.equals("a") ? 60 : 180;
                    boolean changed = split.equals("train") && (cls + "/" + i + ".png").equals(alter);
                    for (int y = 0; y < wh[1]; y++) {
                        for (int x = 0; x < wh[0]; x++) {
                            int v = base + random.nextInt(60) - 30;
                            img.getRaster().setSample(x, y, 0, changed ? 255 - v : v);
                        }
                    }
                    ImageIO.write(img, "png", dir.resolve(i + ".png").toFile());
                }
            }
        }
        return root;
    }

    private static void teacher(TestKafka kafka, String run, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("teacher", "--run", run, "--teacher", mlpTeacher().toString(),
                "--train-limit", Integer.toString(TRAIN_LIMIT), "--batch-size", Integer.toString(BATCH),
                "--work-partitions", "1", "--progress-interval", "0", "--bootstrap-servers",
                kafka.bootstrapServers()));
        Collections.addAll(args, extra);
        exec(args.toArray(String[]::new));
    }

    private void student(TestKafka kafka, String run, String group, Path trace, String... extra) {
        List<String> args = new ArrayList<>(List.of("student", "--run", run, "--group", group, "--arch", "mlp",
                "--checkpoint-dir", tmp.resolve("ckpt-" + group).toString(), "--idle-timeout", "60s",
                "--manifest-timeout", "60s", "--progress-interval", "0",
                "--trace", trace.toString(), "--bootstrap-servers", kafka.bootstrapServers()));
        Collections.addAll(args, extra);
        exec(args.toArray(String[]::new));
    }

    /** {@code kdstream ARGS} in this JVM, as bin/kdstream runs it; exit code 0 or a failure quoting stderr. */
    private static void exec(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cmd = KdstreamCommand.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        assertThat(code).as("kdstream %s exit code; stderr:%n%s%nstdout:%n%s", args[0], err, out).isZero();
    }

    private static List<FeatureBatch> batches(TestKafka kafka, String run, int expected) {
        List<ConsumerRecord<String, byte[]>> records = TestTopics.readFromStart(kafka.clients(),
                new RunTopics(run).features(), "read_committed", expected);
        List<FeatureBatch> out = new ArrayList<>();
        records.stream().sorted(java.util.Comparator.comparing(ConsumerRecord::key))
                .forEach(r -> out.add(FeatureBatch.decode(r.value())));
        return out;
    }

    private static void assertEveryBatchTrainedOncePerPass(Path trace, int passes) throws IOException {
        StepTrace.Replay r = StepTrace.replay(trace);
        assertThat(r.missing(passes, 1, TRAIN_LIMIT / BATCH)).as("batches of some pass never trained").isEmpty();
        assertThat(r.duplicates()).as("batches trained twice in one pass").isZero();
        assertThat(r.surviving()).as("steps").hasSize(passes * TRAIN_LIMIT / BATCH);
    }
}
