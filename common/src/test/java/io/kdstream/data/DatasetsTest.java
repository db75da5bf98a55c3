package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    // SHA-256 of the IDX payloads (header stripped), computed independently with Python's gzip+hashlib.
    private static final String TRAIN_PIXELS = "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012";
    private static final String TRAIN_LABELS = "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7";
    private static final String TEST_PIXELS = "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a";
    private static final String TEST_LABELS = "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9";

    @TempDir
    Path tmp;

    @Test
    @RequiresDataset
    void fashionMnistTrainMatchesRawFileChecksums() throws Exception {
        ImageDataset train = Datasets.load("fashion-mnist", Split.TRAIN);
        assertThat(train.size()).isEqualTo(60_000);
        assertThat(new int[] {train.channels(), train.height(), train.width()}).containsExactly(1, 28, 28);
        assertThat(pixelSha(train)).isEqualTo(TRAIN_PIXELS);
        assertThat(labelSha(train)).isEqualTo(TRAIN_LABELS);
        assertThat(train.label(0)).isEqualTo(9);
        assertThat(train.classNames().get(9)).isEqualTo("Ankle boot");
        assertThat(train.sampleId(12_345)).isEqualTo(12_345L);
        assertThat(train.indexOf(12_345L)).isEqualTo(12_345);
    }

    @Test
    @RequiresDataset
    void fashionMnistTestMatchesRawFileChecksums() throws Exception {
        ImageDataset test = Datasets.load("fashion-mnist", Split.TEST);
        assertThat(test.size()).isEqualTo(10_000);
        assertThat(pixelSha(test)).isEqualTo(TEST_PIXELS);
        assertThat(labelSha(test)).isEqualTo(TEST_LABELS);
    }

    @Test
    void plainAndGzipIdxReadTheSame() throws IOException {
        byte[] images = idx(0x0803, new int[] {3, 2, 2}, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, (byte) 255});
        byte[] labels = idx(0x0801, new int[] {3}, new byte[] {2, 0, 1});
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Files.write(plain.resolve("train-images-idx3-ubyte"), images);
        Files.write(plain.resolve("train-labels-idx1-ubyte"), labels);
        Path gz = Files.createDirectories(tmp.resolve("gz"));
        Files.write(gz.resolve("train-images-idx3-ubyte.gz"), gzip(images));
        Files.write(gz.resolve("train-labels-idx1-ubyte.gz"), gzip(labels));

        ImageDataset a = Datasets.load(plain.toString(), Split.TRAIN);
        ImageDataset b = Datasets.load(gz.toString(), Split.TRAIN);
        assertThat(a.size()).isEqualTo(3);
        assertThat(a.pixels(2)).containsExactly(8, 9, 10, (byte) 255);
        assertThat(b.pixels(2)).containsExactly(a.pixels(2));
        assertThat(new int[] {b.label(0), b.label(1), b.label(2)}).containsExactly(2, 0, 1);
        assertThat(a.numClasses()).isEqualTo(3);
    }

    @Test
    void rejectsNonIdxAndTruncatedFiles() throws IOException {
        Path bad = tmp.resolve("bad");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertThatThrownBy(() -> IdxReader.read(bad)).hasMessageContaining("not an IDX file");
        Path cut = tmp.resolve("cut");
        Files.write(cut, idx(0x0803, new int[] {5, 2, 2}, new byte[7]));
        assertThatThrownBy(() -> IdxReader.read(cut)).hasMessageContaining("truncated");
    }

    @Test
    void missingDatasetSaysWhereItLookedAndHowToInstall() {
        Path empty = tmp.resolve("no-datasets");
        assertThatThrownBy(() -> Datasets.locate("fashion-mnist", empty))
                .isInstanceOf(DatasetNotFoundException.class)
                .hasMessageContaining(empty.resolve("fashion-mnist").toAbsolutePath().toString())
                .hasMessageContaining("apt-get install dataset-fashion-mnist");
        assertThatThrownBy(() -> Datasets.load(tmp.resolve("nowhere").toString(), Split.TEST))
                .isInstanceOf(DatasetNotFoundException.class)
                .hasMessageContaining(tmp.resolve("nowhere").toString());
    }

    @Test
    void readsImageFoldersWithSortedClassesAndStableIds() throws IOException {
        Path root = tmp.resolve("shapes");
        writePng(root.resolve("train/zebra/b.png"), 10);
        writePng(root.resolve("train/zebra/a.png"), 20);
        writePng(root.resolve("train/ant/x.png"), 30);
        writePng(root.resolve("test/ant/y.png"), 40);
        writePng(root.resolve("test/zebra/z.png"), 50);

        ImageDataset train = Datasets.load(root.toString(), Split.TRAIN);
        assertThat(train.classNames()).containsExactly("ant", "zebra");
        assertThat(train.size()).isEqualTo(3);
        assertThat(new int[] {train.channels(), train.height(), train.width()}).containsExactly(3, 4, 5);
        // Sorted <class>/<file>: ant/x, zebra/a, zebra/b.
        assertThat(new int[] {train.label(0), train.label(1), train.label(2)}).containsExactly(0, 1, 1);
        byte[] px = train.pixels(1);
        assertThat(px[0] & 0xff).isEqualTo(20);          // R plane
        assertThat(px[20] & 0xff).isEqualTo(21);         // G plane
        assertThat(px[40 + 4 * 5 - 1] & 0xff).isEqualTo(22 + 3 + 4); // B plane, last pixel
        assertThat(Datasets.load(root.toString(), Split.TEST).size()).isEqualTo(2);
    }

    @Test
    void grayscaleImageFoldersHaveOneChannelAndMixedSizesAreRejected() throws IOException {
        Path root = tmp.resolve("gray");
        for (String cls : new String[] {"a", "b"}) {
            Path f = root.resolve("train/" + cls + "/0.png");
            Files.createDirectories(f.getParent());
            BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setSample(2, 1, 0, cls.equals("a") ? 200 : 100);
            ImageIO.write(img, "png", f.toFile());
        }
        ImageDataset ds = ImageFolderReader.read(root.resolve("train"), "gray", Split.TRAIN);
        assertThat(new int[] {ds.channels(), ds.height(), ds.width()}).containsExactly(1, 2, 3);
        assertThat(ds.pixels(0)[5] & 0xff).isEqualTo(200);
        assertThat(ds.pixels(1)[5] & 0xff).isEqualTo(100);

        writePng(root.resolve("train/b/1.png"), 0); // 5x4 RGB among 3x2 gray images
        assertThatThrownBy(() -> ImageFolderReader.read(root.resolve("train"), "gray", Split.TRAIN))
                .hasMessageContaining("one size");
    }

    @Test
    @RequiresDataset
    void stratifiedSubsetIsDeterministicAndKeepsClassShares() {
        ImageDataset train = Datasets.load("fashion-mnist", Split.TRAIN);
        ImageDataset a = train.subset(0.1, 0, 42);
        ImageDataset b = train.subset(0.1, 0, 42);
        ImageDataset c = train.subset(0.1, 0, 43);
        assertThat(a.size()).isEqualTo(6_000);
        assertThat(ids(a)).containsExactly(ids(b));
        assertThat(ids(a)).isNotEqualTo(ids(c));
        assertThat(ids(a)).isSorted();
        int[] perClass = new int[10];
        for (int i = 0; i < a.size(); i++) {
            perClass[a.label(i)]++;
            assertThat(a.label(i)).isEqualTo(train.label((int) a.sampleId(i)));
        }
        assertThat(perClass).containsOnly(600);

        ImageDataset limited = train.subset(1.0, 1_005, 7);
        assertThat(limited.size()).isEqualTo(1_005);
        assertThat(train.subset(1.0, 0, 7)).isSameAs(train);
        assertThatThrownBy(() -> train.subset(0, 0, 1)).hasMessageContaining("(0, 1]");
    }

    @Test
    @RequiresDataset
    void validationIsCarvedFromTrainDisjointFromTheRunsSubsetAndStratified() {
        DatasetRef ref = new DatasetRef("fashion-mnist", 1.0, 5000, 7);
        ImageDataset val = ref.validation(2000);
        assertThat(val.size()).isEqualTo(2000);
        assertThat(val.split()).as("carved from the training split, never the test split").isEqualTo(Split.TRAIN);
        java.util.Set<Long> train = new java.util.HashSet<>();
        for (long id : ids(ref.train())) {
            train.add(id);
        }
        int[] perClass = new int[10];
        for (int i = 0; i < val.size(); i++) {
            assertThat(train).doesNotContain(val.sampleId(i));
            perClass[val.label(i)]++;
        }
        assertThat(perClass).containsOnly(200);
        assertThat(ids(ref.validation(2000))).as("deterministic").containsExactly(ids(val));
        assertThatThrownBy(() -> DatasetRef.full("fashion-mnist").validation(10))
                .hasMessageContaining("only 0 are left");
    }

    static String pixelSha(ImageDataset ds) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[ds.sampleSize()];
        for (int i = 0; i < ds.size(); i++) {
            ds.copyPixels(i, buf, 0);
            md.update(buf);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String labelSha(ImageDataset ds) throws Exception {
        byte[] labels = new byte[ds.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (byte) ds.label(i);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(labels));
    }

    private static long[] ids(ImageDataset ds) {
        long[] out = new long[ds.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ds.sampleId(i);
        }
        return out;
    }

    private static byte[] idx(int magic, int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeInt(magic);
        for (int d : dims) {
            out.writeInt(d);
        }
        out.write(data);
        return bos.toByteArray();
    }

    private static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }

    /** A 5×4 RGB image with R = base + x + y, G = R + 1, B = R + 2. */
    private static void writePng(Path file, int base) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(5, 4, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                int r = base + x + y;
                img.setRGB(x, y, (r << 16) | ((r + 1) << 8) | (r + 2));
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }
}
