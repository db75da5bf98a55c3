package io.kdstream.data;

import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * Deterministic batches of one run: epoch {@code e} visits the dataset in a SplitMix64 shuffle
 * seeded by (run seed, e); batch {@code i} is positions [i·B, (i+1)·B) of that order (the last
 * batch of an epoch may be short); each sample is augmented with
 * {@link AugmentPolicy#sampleSeed}(run seed, e, sample id). Any teacher computing (e, i) gets the
 * same batch, so work items can move between teachers, and {@link #replay} rebuilds the exact
 * inputs from the ids and seeds alone (reference mode).
 */
public final class BatchSource {
    private static final long SHUFFLE_DOMAIN = 0x53485546464C45L; // "SHUFFLE"

    private final ImageDataset dataset;
    private final long runSeed;
    private final int batchSize;
    private final AugmentPolicy policy;
    private final DataWorkers workers;
    private final UnreadableSamples unreadable = new UnreadableSamples();
    private final ThreadLocal<byte[]> scratch = ThreadLocal.withInitial(() -> new byte[0]); // one source image per thread
    private int cachedEpoch = Integer.MIN_VALUE;
    private int[] cachedOrder;

    public BatchSource(ImageDataset dataset, long runSeed, int batchSize, AugmentPolicy policy) {
        this(dataset, runSeed, batchSize, policy, DataWorkers.INLINE);
    }

    /**
     * @param workers the data workers that read and augment the samples of a batch (a dataset read
     *                from disk); samples held in memory are copied on the calling thread
     */
    public BatchSource(ImageDataset dataset, long runSeed, int batchSize, AugmentPolicy policy, DataWorkers workers) {
        this.workers = Objects.requireNonNull(workers, "workers");
        this.dataset = Objects.requireNonNull(dataset, "dataset");
        this.policy = Objects.requireNonNull(policy, "policy");
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        if (dataset.size() == 0) {
            throw new IllegalArgumentException("dataset " + dataset.describe() + " is empty");
        }
        this.runSeed = runSeed;
        this.batchSize = batchSize;
    }

    public ImageDataset dataset() {
        return dataset;
    }

    public int batchSize() {
        return batchSize;
    }

    public AugmentPolicy policy() {
        return policy;
    }

    public long runSeed() {
        return runSeed;
    }

    public int batchesPerEpoch() {
        return (dataset.size() + batchSize - 1) / batchSize;
    }

    /** The order (dataset positions) in which epoch {@code epoch} visits the samples. */
    public int[] epochOrder(int epoch) {
        return order(epoch).clone();
    }

    /** The cached order of one epoch; batches of the same epoch share it. Callers must not modify it. */
    private synchronized int[] order(int epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (epoch != cachedEpoch) {
            int[] order = new int[dataset.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            new SeedMix(SeedMix.combine(SHUFFLE_DOMAIN, runSeed, epoch)).shuffle(order);
            cachedOrder = order;
            cachedEpoch = epoch;
        }
        return cachedOrder;
    }

    /** Batch {@code batchIndex} of epoch {@code epoch}, augmented. */
    public Batch batch(int epoch, int batchIndex) {
        if (batchIndex < 0 || batchIndex >= batchesPerEpoch()) {
            throw new IllegalArgumentException("batch index " + batchIndex + " outside [0, " + batchesPerEpoch()
                    + ") for " + dataset.size() + " samples in batches of " + batchSize);
        }
        int[] order = order(epoch);
        int from = batchIndex * batchSize;
        int n = Math.min(batchSize, dataset.size() - from);
        long[] ids = new long[n];
        long[] seeds = new long[n];
        for (int k = 0; k < n; k++) {
            ids[k] = dataset.sampleId(order[from + k]);
            seeds[k] = AugmentPolicy.sampleSeed(runSeed, epoch, ids[k]);
        }
        return build(epoch, batchIndex, positions(order, from, n), ids, seeds, true);
    }

    /**
     * Batch {@code batchIndex} of the dataset in its own order (no shuffle), for evaluation; like
     * {@link #batch}, unreadable samples are left out.
     */
    public Batch inOrder(int batchIndex) {
        if (batchIndex < 0 || batchIndex >= batchesPerEpoch()) {
            throw new IllegalArgumentException("batch index " + batchIndex + " outside [0, " + batchesPerEpoch() + ")");
        }
        int from = batchIndex * batchSize;
        int n = Math.min(batchSize, dataset.size() - from);
        int[] pos = new int[n];
        long[] ids = new long[n];
        for (int k = 0; k < n; k++) {
            pos[k] = from + k;
            ids[k] = dataset.sampleId(from + k);
        }
        return build(0, batchIndex, pos, ids, new long[n], true);
    }

    /** Samples found unreadable so far (a MeterBinder for the metric). */
    public UnreadableSamples unreadable() {
        return unreadable;
    }

    /**
     * Reference mode: rebuilds a batch from the sample ids and aug seeds a teacher published;
     * bit-identical to the teacher's {@link #batch} when dataset and policy match.
     */
    public Batch replay(int epoch, int batchIndex, long[] sampleIds, long[] augSeeds) {
        if (sampleIds.length != augSeeds.length) {
            throw new IllegalArgumentException(sampleIds.length + " sample ids but " + augSeeds.length + " aug seeds");
        }
        int[] pos = new int[sampleIds.length];
        for (int k = 0; k < pos.length; k++) {
            pos[k] = dataset.indexOf(sampleIds[k]);
        }
        // strict: the teacher read every one of these, so a sample this process cannot read means other data
        return build(epoch, batchIndex, pos, sampleIds.clone(), augSeeds.clone(), false);
    }

    private static int[] positions(int[] order, int from, int n) {
        int[] pos = new int[n];
        System.arraycopy(order, from, pos, 0, n);
        return pos;
    }

    /**
     * @param leaveOut leave unreadable samples out of the batch (the teacher's and evaluation's rule);
     *                 otherwise one fails the batch
     */
    private Batch build(int epoch, int batchIndex, int[] pos, long[] ids, long[] seeds, boolean leaveOut) {
        int s = dataset.sampleSize();
        byte[] inputs = new byte[pos.length * s];
        long[] labels = new long[pos.length];
        for (int k = 0; k < pos.length; k++) {
            labels[k] = dataset.label(pos[k]);
        }
        byte[] out = inputs;
        String[] failed = new String[pos.length];
        long[] seedsIn = seeds;
        AugmentPolicy.View[] views = policy.cropsSource() ? new AugmentPolicy.View[pos.length] : null;
        java.util.function.IntConsumer one = k -> {
            try {
                AugmentPolicy.View v = sample(pos[k], seedsIn[k], out, k * s);
                if (views != null) {
                    views[k] = v;
                }
            } catch (UncheckedIOException e) {
                if (!leaveOut) {
                    throw e;
                }
                failed[k] = e.getMessage();
            }
        };
        if (dataset.inMemory() || workers.count() == 1) {
            for (int k = 0; k < pos.length; k++) {
                one.accept(k);
            }
        } else {
            workers.forEach(pos.length, one);
        }
        int kept = 0;
        for (int k = 0; k < pos.length; k++) {
            if (failed[k] != null) {
                unreadable.report(ids[k], failed[k]);
                continue;
            }
            if (kept != k) {
                ids[kept] = ids[k];
                labels[kept] = labels[k];
                seeds[kept] = seeds[k];
                System.arraycopy(inputs, k * s, inputs, kept * s, s);
                if (views != null) {
                    views[kept] = views[k];
                }
            }
            kept++;
        }
        if (kept == 0) {
            throw new UncheckedIOException("no sample of batch " + epoch + "/" + batchIndex + " can be read; the first: "
                    + failed[0], new java.io.IOException(failed[0]));
        }
        if (kept < pos.length) {
            ids = Arrays.copyOf(ids, kept);
            labels = Arrays.copyOf(labels, kept);
            seeds = Arrays.copyOf(seeds, kept);
            inputs = Arrays.copyOf(inputs, kept * s);
        }
        long[] boxes = null;
        byte[] flips = null;
        if (views != null) {
            boxes = new long[kept * Batch.BOX];
            flips = new byte[kept];
            for (int k = 0; k < kept; k++) {
                AugmentPolicy.View v = views[k];
                long[] box = {v.top(), v.left(), v.height(), v.width(), v.sourceHeight(), v.sourceWidth()};
                System.arraycopy(box, 0, boxes, k * Batch.BOX, Batch.BOX);
                flips[k] = (byte) (v.flip() ? 1 : 0);
            }
        }
        return new Batch(epoch, batchIndex, ids, labels, seeds, inputs,
                dataset.channels(), dataset.height(), dataset.width(), boxes, flips);
    }

    /** One sample, augmented, into {@code out} at {@code offset}; its crop view when the policy crops the source, else null. */
    private AugmentPolicy.View sample(int position, long seed, byte[] out, int offset) {
        if (policy.isIdentity()) {
            dataset.copyPixels(position, out, offset);
            return null;
        }
        if (policy.cropsSource()) {
            return resizedCrop(position, seed, out, offset);
        }
        byte[] src = scratch.get();
        if (src.length != dataset.sampleSize()) {
            src = new byte[dataset.sampleSize()];
            scratch.set(src);
        }
        dataset.copyPixels(position, src, 0);
        policy.apply(src, 0, dataset.channels(), dataset.height(), dataset.width(), seed, out, offset);
        return null;
    }

    /** RandomResizedCrop (+ flip) cut from the decoded source image and resized to the dataset's size. */
    private AugmentPolicy.View resizedCrop(int position, long seed, byte[] out, int offset) {
        ImageDecoder.Planes src = dataset.sourcePixels(position);
        AugmentPolicy.View v = policy.cropBox(seed, src.height(), src.width());
        int h = dataset.height();
        int w = dataset.width();
        byte[] px = ImageFolderReader.resizeRegion(src, v, new ImageSize(h, w));
        int plane = h * w;
        for (int c = 0; c < dataset.channels(); c++) {
            int from = src.channels() == 1 ? 0 : c * plane; // a grey image in an RGB dataset: all three channels
            int to = offset + c * plane;
            if (!v.flip()) {
                System.arraycopy(px, from, out, to, plane);
                continue;
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out[to + y * w + x] = px[from + y * w + (w - 1 - x)];
                }
            }
        }
        return v;
    }
}
