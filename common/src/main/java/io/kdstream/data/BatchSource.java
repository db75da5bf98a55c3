package io.kdstream.data;

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
        return build(epoch, batchIndex, positions(order, from, n), ids, seeds);
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
        return build(epoch, batchIndex, pos, sampleIds.clone(), augSeeds.clone());
    }

    private static int[] positions(int[] order, int from, int n) {
        int[] pos = new int[n];
        System.arraycopy(order, from, pos, 0, n);
        return pos;
    }

    private Batch build(int epoch, int batchIndex, int[] pos, long[] ids, long[] seeds) {
        int s = dataset.sampleSize();
        byte[] inputs = new byte[pos.length * s];
        long[] labels = new long[pos.length];
        for (int k = 0; k < pos.length; k++) {
            labels[k] = dataset.label(pos[k]);
        }
        if (dataset.inMemory() || workers.count() == 1) {
            byte[] src = new byte[s];
            for (int k = 0; k < pos.length; k++) {
                sample(pos[k], seeds[k], src, inputs, k * s);
            }
        } else {
            workers.forEach(pos.length, k -> sample(pos[k], seeds[k], new byte[s], inputs, k * s));
        }
        return new Batch(epoch, batchIndex, ids, labels, seeds, inputs,
                dataset.channels(), dataset.height(), dataset.width());
    }

    /** One sample, augmented, into {@code out} at {@code offset}; {@code src} is scratch of one sample's size. */
    private void sample(int position, long seed, byte[] src, byte[] out, int offset) {
        if (policy.isIdentity()) {
            dataset.copyPixels(position, out, offset);
        } else {
            dataset.copyPixels(position, src, 0);
            policy.apply(src, 0, dataset.channels(), dataset.height(), dataset.width(), seed, out, offset);
        }
    }
}
