package io.kdstream.data;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Which training data a run uses: a dataset (name or path) and a deterministic stratified subset
 * of its training split. Its {@link #id()} is the manifest's {@code dataset_id}, so a student in
 * reference mode rebuilds exactly the teacher's samples, and a different subset is a different run.
 *
 * @param dataset       {@code fashion-mnist}, {@code mnist} or a directory ({@link Datasets})
 * @param trainFraction share of the training split kept, in (0, 1]
 * @param trainLimit    at most this many training samples (0 = no limit)
 * @param subsetSeed    seed of the stratified subset choice
 * @param imageSize     size every image of an image folder is resized and center-cropped to, or null
 *                      for images used as they are
 * @param jpegDecoder   the library that decodes its JPEGs, {@link JpegDecoder#TURBO} or
 *                      {@link JpegDecoder#JAVA} (the only one before it was recorded): a student that
 *                      rebuilds the teacher's inputs must decode as the teacher did
 */
public record DatasetRef(String dataset, double trainFraction, int trainLimit, long subsetSeed, ImageSize imageSize,
                         JpegDecoder jpegDecoder) {

    /** Images as they are. */
    public DatasetRef(String dataset, double trainFraction, int trainLimit, long subsetSeed) {
        this(dataset, trainFraction, trainLimit, subsetSeed, null);
    }

    /** JPEGs decoded by javax.imageio. */
    public DatasetRef(String dataset, double trainFraction, int trainLimit, long subsetSeed, ImageSize imageSize) {
        this(dataset, trainFraction, trainLimit, subsetSeed, imageSize, JpegDecoder.JAVA);
    }

    public DatasetRef {
        if (jpegDecoder == null || jpegDecoder == JpegDecoder.AUTO) {
            throw new IllegalArgumentException("a dataset id records the JPEG decoder a process resolved, turbo or java; got "
                    + jpegDecoder);
        }
        if (dataset == null || dataset.isBlank() || dataset.contains("?")) {
            throw new IllegalArgumentException("dataset must be a name or a path without '?', got '" + dataset + "'");
        }
        if (!(trainFraction > 0 && trainFraction <= 1)) {
            throw new IllegalArgumentException("--train-fraction must be in (0, 1], got " + trainFraction);
        }
        if (trainLimit < 0) {
            throw new IllegalArgumentException("--train-limit must be >= 0, got " + trainLimit);
        }
    }

    public static DatasetRef full(String dataset) {
        return new DatasetRef(dataset, 1.0, 0, 0L);
    }

    /**
     * E.g. {@code fashion-mnist?fraction=1.0&limit=5000&seed=7}, with {@code &size=HxW} when images
     * are resized and {@code &jpeg=turbo} when libjpeg-turbo decodes them (both absent otherwise, so
     * the ids of existing runs do not change).
     */
    public String id() {
        return dataset + "?fraction=" + trainFraction + "&limit=" + trainLimit + "&seed=" + subsetSeed
                + (imageSize == null ? "" : "&size=" + imageSize)
                + (jpegDecoder == JpegDecoder.JAVA ? "" : "&jpeg=" + jpegDecoder.tag());
    }

    /** The same data read with another JPEG decoder. */
    public DatasetRef withJpegDecoder(JpegDecoder decoder) {
        return new DatasetRef(dataset, trainFraction, trainLimit, subsetSeed, imageSize, decoder);
    }

    /** The same subset of another copy of the dataset (a student's {@code --dataset}). */
    public DatasetRef withDataset(String other) {
        return new DatasetRef(other, trainFraction, trainLimit, subsetSeed, imageSize, jpegDecoder);
    }

    /** Parses {@link #id()}. */
    public static DatasetRef parse(String id) {
        int q = id.indexOf('?');
        if (q < 0) {
            return full(id);
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (String kv : id.substring(q + 1).split("&")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("bad dataset id '" + id + "'");
            }
            params.put(kv.substring(0, eq).toLowerCase(Locale.ROOT), kv.substring(eq + 1));
        }
        try {
            return new DatasetRef(id.substring(0, q), Double.parseDouble(params.getOrDefault("fraction", "1.0")),
                    Integer.parseInt(params.getOrDefault("limit", "0")),
                    Long.parseLong(params.getOrDefault("seed", "0")),
                    params.containsKey("size") ? ImageSize.parse(params.get("size")) : null,
                    JpegDecoder.parse(params.getOrDefault("jpeg", JpegDecoder.JAVA.tag())));
        } catch (IllegalArgumentException e) { // NumberFormatException too
            throw new IllegalArgumentException("bad dataset id '" + id + "': " + e.getMessage(), e);
        }
    }

    /** The (subset of the) training split. */
    public ImageDataset train() {
        ImageDataset all = Datasets.load(dataset, Split.TRAIN, imageSize, 1.0, jpegDecoder);
        return trainFraction == 1.0 && trainLimit == 0 ? all : all.subset(trainFraction, trainLimit, subsetSeed);
    }

    /**
     * A validation set carved from the training split: a stratified, seeded choice of {@code size}
     * samples that are <em>not</em> in {@link #train()}, so hyper-parameters can be tuned without
     * looking at the test split. Fails when the run trains on the whole training split.
     */
    public ImageDataset validation(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("validation size must be positive, got " + size);
        }
        ImageDataset all = Datasets.load(dataset, Split.TRAIN, imageSize, 1.0, jpegDecoder);
        ImageDataset train = train();
        java.util.Set<Long> used = new java.util.HashSet<>(train.size() * 2);
        for (int i = 0; i < train.size(); i++) {
            used.add(train.sampleId(i));
        }
        int[] rest = java.util.stream.IntStream.range(0, all.size()).filter(i -> !used.contains(all.sampleId(i))).toArray();
        if (rest.length < size) {
            throw new IllegalArgumentException("a validation set of " + size + " needs that many training samples outside "
                    + "the run's subset, but only " + rest.length + " are left (" + id() + ")");
        }
        // a different seed than the training subset's choice, so the two draws are unrelated
        return all.select(rest).subset(1.0, size, subsetSeed ^ 0x5eedL);
    }

    /** The whole test split. */
    public ImageDataset test() {
        return test(1.0);
    }

    /**
     * The whole test split in a run's evaluation view: {@code centreCrop} from
     * {@link AugmentPolicy#evalCentreCrop} (Resize(256)+CenterCrop(224) proportions after rrc
     * training); IDX datasets are used as they are.
     */
    public ImageDataset test(double centreCrop) {
        return Datasets.load(dataset, Split.TEST, imageSize, imageSize == null ? 1.0 : centreCrop, jpegDecoder);
    }
}
