package io.kdstream.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One split of an image-classification dataset: uint8 pixels in CHW order at one size, either held
 * in memory (IDX files: Fashion-MNIST train is 47 MB, so a batch is a plain array copy) or read and
 * decoded on demand from image files or tar shards ({@link ImageFolderReader}), so that memory
 * does not grow with the dataset: what is kept per sample is its label, id and place in the index.
 *
 * <p>Every sample has a stable id: its position in the split's source (IDX record index, or rank
 * in sorted relative-path order for image folders). Subsets keep the ids of the full split, so a
 * sample id on the wire means the same image for every subset and every run.
 */
public final class ImageDataset {
    private final Layout layout;
    private final Pixels pixels;
    private final int[] rows; // position -> row of the pixel source
    private final int[] labels;
    private final long[] sampleIds;
    private volatile Map<Long, Integer> indexById; // built lazily, only for ids out of order
    private volatile Boolean ascending;

    /**
     * What a dataset is, apart from its samples: its name, split, the shape every sample has, and
     * its classes (index = label).
     */
    public record Layout(String name, Split split, int channels, int height, int width, List<String> classNames) {
        public Layout {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(split, "split");
            if (channels <= 0 || height <= 0 || width <= 0) {
                throw new IllegalArgumentException("bad image shape " + channels + "x" + height + "x" + width);
            }
            classNames = List.copyOf(classNames);
        }

        /** Bytes per sample: channels × height × width. */
        public int sampleSize() {
            return channels * height * width;
        }
    }

    /**
     * A dataset held in memory.
     *
     * @param pixels n × channels × height × width uint8 values, sample-major, CHW within a sample
     * @param sampleIds stable id of each sample; distinct
     */
    public ImageDataset(Layout layout, byte[] pixels, int[] labels, long[] sampleIds) {
        this(layout, new InMemory(pixels, layout.sampleSize(), labels.length), identity(labels.length), labels, sampleIds);
    }

    /**
     * Where the pixels of each row come from. Implementations are thread-safe: data workers read
     * samples of several batches at once.
     */
    public interface Pixels {
        /** Writes row {@code row}'s sample (CHW uint8, the dataset's size) to {@code dst} at {@code offset}. */
        void copy(int row, byte[] dst, int offset);

        /** Row {@code row}'s image as decoded, at its own size and channels; null where the rows are the samples themselves. */
        default ImageDecoder.Planes source(int row) {
            return null;
        }

        /** Whether the pixels are held in memory (a copy is cheap) rather than read and decoded per call. */
        default boolean inMemory() {
            return false;
        }
    }

    private record InMemory(byte[] bytes, int sampleSize, int count) implements Pixels {
        InMemory {
            if ((long) count * sampleSize != bytes.length) {
                throw new IllegalArgumentException("inconsistent dataset arrays: " + count + " samples, "
                        + bytes.length + " pixel bytes for " + sampleSize + " per sample");
            }
        }

        @Override
        public void copy(int row, byte[] dst, int offset) {
            System.arraycopy(bytes, row * sampleSize, dst, offset, sampleSize);
        }

        @Override
        public boolean inMemory() {
            return true;
        }
    }

    /**
     * A dataset whose row {@code rows[i]} of {@code pixels} is sample {@code i}.
     *
     * @param sampleIds stable id of each sample; distinct
     */
    public ImageDataset(Layout layout, Pixels pixels, int[] rows, int[] labels, long[] sampleIds) {
        this.layout = Objects.requireNonNull(layout, "layout");
        if (labels.length != sampleIds.length || rows.length != labels.length) {
            throw new IllegalArgumentException("inconsistent dataset arrays: " + labels.length + " labels, "
                    + sampleIds.length + " ids, " + rows.length + " rows");
        }
        for (int label : labels) {
            if (label < 0 || label >= layout.classNames().size()) {
                throw new IllegalArgumentException("label " + label + " outside [0, " + layout.classNames().size() + ")");
            }
        }
        this.pixels = Objects.requireNonNull(pixels, "pixels");
        this.rows = rows;
        this.labels = labels;
        this.sampleIds = sampleIds;
    }

    public Layout layout() {
        return layout;
    }

    public String name() {
        return layout.name();
    }

    public Split split() {
        return layout.split();
    }

    public int size() {
        return labels.length;
    }

    public int channels() {
        return layout.channels();
    }

    public int height() {
        return layout.height();
    }

    public int width() {
        return layout.width();
    }

    /** Bytes per sample: channels × height × width. */
    public int sampleSize() {
        return layout.sampleSize();
    }

    public int numClasses() {
        return layout.classNames().size();
    }

    public List<String> classNames() {
        return layout.classNames();
    }

    public int label(int index) {
        return labels[index];
    }

    public long sampleId(int index) {
        return sampleIds[index];
    }

    /**
     * Copies sample {@code index}'s pixels (CHW uint8) into {@code dst} at {@code offset}; for a
     * dataset read from files this reads and decodes the image.
     */
    public void copyPixels(int index, byte[] dst, int offset) {
        pixels.copy(rows[index], dst, offset);
    }

    /**
     * Sample {@code index}'s source image as decoded (its own size; 1 or 3 channels), from which
     * crop augmentations cut their views; for a dataset held in memory, the sample itself.
     */
    public ImageDecoder.Planes sourcePixels(int index) {
        ImageDecoder.Planes src = pixels.source(rows[index]);
        return src != null ? src : new ImageDecoder.Planes(pixels(index), channels(), height(), width());
    }

    /** Whether the pixels are in memory; false when each sample is read and decoded from disk. */
    public boolean inMemory() {
        return pixels.inMemory();
    }

    private static int[] identity(int n) {
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) {
            rows[i] = i;
        }
        return rows;
    }

    public byte[] pixels(int index) {
        byte[] out = new byte[sampleSize()];
        copyPixels(index, out, 0);
        return out;
    }

    /** Whether a sample with this id is in the dataset (a reference-mode batch may name only these). */
    public boolean contains(long sampleId) {
        return position(sampleId) >= 0;
    }

    /** Position of the sample with this id, for reference-mode reconstruction. */
    public int indexOf(long sampleId) {
        int i = position(sampleId);
        if (i < 0) {
            throw new IllegalArgumentException("sample id " + sampleId + " is not in " + describe());
        }
        return i;
    }

    /** Ids are in ascending order for every split and subset built here: a binary search, no map of a million entries. */
    private int position(long sampleId) {
        if (idsAscending()) {
            int i = Arrays.binarySearch(sampleIds, sampleId);
            return i >= 0 ? i : -1;
        }
        return positionsById().getOrDefault(sampleId, -1);
    }

    private boolean idsAscending() {
        Boolean sorted = ascending;
        if (sorted == null) {
            sorted = true;
            for (int i = 1; i < sampleIds.length && sorted; i++) {
                sorted = sampleIds[i - 1] < sampleIds[i];
            }
            ascending = sorted;
        }
        return sorted;
    }

    private Map<Long, Integer> positionsById() {
        Map<Long, Integer> map = indexById;
        if (map == null) {
            map = new HashMap<>(size() * 2);
            for (int i = 0; i < size(); i++) {
                map.put(sampleIds[i], i);
            }
            indexById = map;
        }
        return map;
    }

    /** A dataset of the samples at {@code indices} (in that order), keeping their ids; shares the pixels. */
    public ImageDataset select(int[] indices) {
        int[] rw = new int[indices.length];
        int[] lb = new int[indices.length];
        long[] ids = new long[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = indices[k];
            rw[k] = rows[i];
            lb[k] = labels[i];
            ids[k] = sampleIds[i];
        }
        return new ImageDataset(layout, pixels, rw, lb, ids);
    }

    /**
     * A stratified, seeded subset: each class keeps the same share of its samples, chosen by a
     * shuffle seeded from {@code seed}; the result keeps source order. Same inputs, same subset.
     *
     * @param fraction share of the split to keep, in (0, 1]
     * @param limit at most this many samples overall (0 = no limit)
     */
    public ImageDataset subset(double fraction, int limit, long seed) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("train fraction must be in (0, 1], got " + fraction);
        }
        if (limit < 0) {
            throw new IllegalArgumentException("train limit must be >= 0, got " + limit);
        }
        int target = (int) Math.round(size() * fraction);
        if (limit > 0) {
            target = Math.min(target, limit);
        }
        if (target >= size()) {
            return this;
        }
        target = Math.max(target, 1);
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < numClasses(); c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < size(); i++) {
            byClass.get(labels[i]).add(i);
        }
        // Largest-remainder allocation so class quotas sum exactly to the target.
        int[] quota = new int[numClasses()];
        double[] remainder = new double[numClasses()];
        int assigned = 0;
        for (int c = 0; c < numClasses(); c++) {
            double exact = (double) byClass.get(c).size() * target / size();
            quota[c] = (int) Math.floor(exact);
            remainder[c] = exact - quota[c];
            assigned += quota[c];
        }
        Integer[] order = new Integer[numClasses()];
        for (int c = 0; c < order.length; c++) {
            order[c] = c;
        }
        Arrays.sort(order, (a, b) -> remainder[a] != remainder[b] ? Double.compare(remainder[b], remainder[a]) : a - b);
        for (int k = 0; assigned < target; k++) {
            quota[order[k % order.length]]++;
            assigned++;
        }
        int[] chosen = new int[target];
        int n = 0;
        for (int c = 0; c < numClasses(); c++) {
            int[] members = byClass.get(c).stream().mapToInt(Integer::intValue).toArray();
            new SeedMix(SeedMix.combine(seed, c)).shuffle(members);
            System.arraycopy(members, 0, chosen, n, quota[c]);
            n += quota[c];
        }
        Arrays.sort(chosen);
        return select(chosen);
    }

    public String describe() {
        return name() + "/" + split().name().toLowerCase() + " (" + size() + " samples, "
                + channels() + "x" + height() + "x" + width() + ", " + numClasses() + " classes)";
    }

    @Override
    public String toString() {
        return describe();
    }
}
