package io.kdstream.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Opens datasets by name or path. Nothing is downloaded: a dataset that is not on disk fails with
 * a {@link DatasetNotFoundException} naming every place looked at and how to install it.
 *
 * <ul>
 *   <li>{@code fashion-mnist}, {@code mnist}: IDX files under {@code $KDSTREAM_DATASETS/<name>}
 *       (or {@code -Dkdstream.datasets=DIR}) and then {@code /usr/share/datasets/<name>}
 *       (Debian: {@code apt-get install dataset-fashion-mnist}).</li>
 *   <li>a directory with {@code train-images-idx3-ubyte[.gz]} etc.: IDX files.</li>
 *   <li>a directory with {@code train/} and {@code test/} sub-folders of
 *       {@code <class>/<image>.png|jpg}: an image folder ({@link ImageFolderReader}; docs/datasets.md).</li>
 * </ul>
 */
public final class Datasets {
    public static final Path SYSTEM_DATASETS = Path.of("/usr/share/datasets");

    static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover",
            "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final Map<String, ImageDataset> CACHE = new ConcurrentHashMap<>();

    private Datasets() {
    }

    /** Loads one split; results are cached per JVM (datasets are read-only). */
    public static ImageDataset load(String dataset, Split split) {
        return load(dataset, split, null);
    }

    /**
     * Loads one split with every image brought to {@code size} (image folders; null = as they are);
     * cached per JVM.
     */
    public static ImageDataset load(String dataset, Split split, ImageSize size) {
        return load(dataset, split, size, 1.0);
    }

    /**
     * Loads one split of an image folder brought to {@code size} through a centre crop keeping
     * {@code centreCrop} of the resized image (1: the size covered exactly; see
     * {@link ImageFolderReader#read(Path, String, Split, ImageSize, double)}); cached per JVM.
     */
    public static ImageDataset load(String dataset, Split split, ImageSize size, double centreCrop) {
        return load(dataset, split, size, centreCrop, JpegDecoder.AUTO);
    }

    /** {@link #load(String, Split, ImageSize, double)} with its JPEGs decoded by {@code decoder}. */
    public static ImageDataset load(String dataset, Split split, ImageSize size, double centreCrop, JpegDecoder decoder) {
        Path dir = locate(dataset);
        // resolved (and logged) only where files are decoded: IDX datasets have no JPEGs
        JpegDecoder jpeg = idxFile(dir, Split.TRAIN, "images") == null ? decoder.resolve() : JpegDecoder.JAVA;
        String key = dir.toAbsolutePath().normalize() + "|" + split + "|" + size + "|" + centreCrop + "|" + jpeg;
        return CACHE.computeIfAbsent(key, k -> {
            try {
                return read(dataset, dir, split, size, centreCrop, jpeg);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read dataset " + dataset + " from " + dir + ": " + e.getMessage(), e);
            }
        });
    }

    /** The directory that holds {@code dataset}, or a DatasetNotFoundException listing where it looked. */
    public static Path locate(String dataset) {
        return locate(dataset, SYSTEM_DATASETS);
    }

    static Path locate(String dataset, Path systemDatasets) {
        if (dataset == null || dataset.isBlank()) {
            throw new IllegalArgumentException("dataset name or path is empty");
        }
        List<Path> candidates = new ArrayList<>();
        boolean named = dataset.equals("fashion-mnist") || dataset.equals("mnist");
        if (named) {
            String prop = System.getProperty("kdstream.datasets");
            String env = System.getenv("KDSTREAM_DATASETS");
            if (prop != null && !prop.isBlank()) {
                candidates.add(Path.of(prop, dataset));
            }
            if (env != null && !env.isBlank()) {
                candidates.add(Path.of(env, dataset));
            }
            candidates.add(systemDatasets.resolve(dataset));
        } else {
            candidates.add(Path.of(dataset));
        }
        for (Path dir : candidates) {
            if (idxFile(dir, Split.TRAIN, "images") != null || Files.isDirectory(dir.resolve("train"))) {
                return dir;
            }
        }
        StringBuilder msg = new StringBuilder("dataset '").append(dataset).append("' not found; looked in ");
        for (int i = 0; i < candidates.size(); i++) {
            msg.append(i == 0 ? "" : ", ").append(candidates.get(i).toAbsolutePath());
        }
        msg.append(" for IDX files (train-images-idx3-ubyte[.gz], ...) or train/ and test/ image folders. ");
        if (dataset.equals("fashion-mnist")) {
            msg.append("Install it with: sudo apt-get install dataset-fashion-mnist");
        } else if (dataset.equals("mnist")) {
            msg.append("Put the four MNIST IDX files in ").append(systemDatasets.resolve("mnist"))
                    .append(" or in $KDSTREAM_DATASETS/mnist");
        } else {
            msg.append("Use fashion-mnist, mnist, or a directory in one of those layouts");
        }
        throw new DatasetNotFoundException(msg.toString());
    }

    /** Whether {@code dataset} is an image folder or tar shards (its pixels are decoded from files), not IDX files. */
    public static boolean decodesFiles(String dataset) {
        return idxFile(locate(dataset), Split.TRAIN, "images") == null;
    }

    private static ImageDataset read(String dataset, Path dir, Split split, ImageSize size, double centreCrop,
                                     JpegDecoder decoder) throws IOException {
        String name = Path.of(dataset).getFileName().toString();
        Path images = idxFile(dir, split, "images");
        if (images != null) {
            Path labels = idxFile(dir, split, "labels");
            if (labels == null) {
                throw new DatasetNotFoundException("IDX labels for " + split.name().toLowerCase() + " missing next to " + images);
            }
            ImageDataset idx = fromIdx(name, split, images, labels);
            if (size != null && (size.height() != idx.height() || size.width() != idx.width())) {
                throw new IllegalArgumentException("--image-size resizes image folders; " + dataset + " is IDX with "
                        + idx.height() + "x" + idx.width() + " images");
            }
            return idx;
        }
        Path folder = dir.resolve(split == Split.TRAIN ? "train" : "test");
        if (!Files.isDirectory(folder)) {
            throw new DatasetNotFoundException("dataset " + dataset + " has no " + folder + " image folder");
        }
        return ImageFolderReader.read(folder, name, split, size, centreCrop, decoder);
    }

    /** Reads an IDX image file [n, h, w] (or [n, c, h, w]) and its label file [n]. */
    public static ImageDataset fromIdx(String name, Split split, Path imagesFile, Path labelsFile) throws IOException {
        IdxReader.IdxArray img = IdxReader.read(imagesFile);
        IdxReader.IdxArray lab = IdxReader.read(labelsFile);
        int[] d = img.dims();
        if (d.length != 3 && d.length != 4) {
            throw new IOException(imagesFile + ": image IDX must be [n,h,w] or [n,c,h,w], got rank " + d.length);
        }
        if (lab.dims().length != 1 || lab.count() != img.count()) {
            throw new IOException(labelsFile + ": expected " + img.count() + " labels, got dims "
                    + java.util.Arrays.toString(lab.dims()));
        }
        int channels = d.length == 4 ? d[1] : 1;
        int[] labels = new int[lab.count()];
        int max = 0;
        for (int i = 0; i < labels.length; i++) {
            labels[i] = lab.data()[i] & 0xff;
            max = Math.max(max, labels[i]);
        }
        List<String> classes = name.equals("fashion-mnist") && max < 10 ? FASHION_MNIST_CLASSES : numbered(max + 1);
        long[] ids = new long[labels.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        return new ImageDataset(new ImageDataset.Layout(name, split, channels, d[d.length - 2], d[d.length - 1], classes),
                img.data(), labels, ids);
    }

    private static List<String> numbered(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Integer.toString(i));
        }
        return out;
    }

    private static Path idxFile(Path dir, Split split, String kind) {
        String prefix = split == Split.TRAIN ? "train" : "t10k";
        int rank = kind.equals("images") ? 3 : 1;
        for (String suffix : new String[] {"", ".gz"}) {
            Path p = dir.resolve(prefix + "-" + kind + "-idx" + rank + "-ubyte" + suffix);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }
}
