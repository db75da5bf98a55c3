package io.kdstream.student;

import java.util.BitSet;
import java.util.HexFormat;

/**
 * Which (pass, epoch, batch) a student has trained, as a bit set: kept in every checkpoint, so a
 * resumed student skips batches it already trained (exactly once per epoch even if the stream
 * redelivers) and knows when it is done. A pass is one read of the topic: the first pass plus
 * {@code --replay-epochs} replays.
 */
public final class TrainedBatches {

    private final int epochs;
    private final int batchesPerEpoch;
    private final int passes;
    private final BitSet bits;

    public TrainedBatches(int passes, int epochs, int batchesPerEpoch) {
        this(passes, epochs, batchesPerEpoch, new BitSet());
    }

    private TrainedBatches(int passes, int epochs, int batchesPerEpoch, BitSet bits) {
        this.passes = passes;
        this.epochs = epochs;
        this.batchesPerEpoch = batchesPerEpoch;
        this.bits = bits;
    }

    private int index(int pass, int epoch, int batch) {
        if (pass < 0 || pass >= passes || epoch < 0 || epoch >= epochs || batch < 0 || batch >= batchesPerEpoch) {
            throw new IllegalArgumentException("batch " + pass + ":" + epoch + "/" + batch + " outside " + passes
                    + " passes x " + epochs + " epochs x " + batchesPerEpoch + " batches");
        }
        return (pass * epochs + epoch) * batchesPerEpoch + batch;
    }

    public boolean contains(int pass, int epoch, int batch) {
        return bits.get(index(pass, epoch, batch));
    }

    /** Marks a batch trained; false if it already was. */
    public boolean add(int pass, int epoch, int batch) {
        int i = index(pass, epoch, batch);
        boolean fresh = !bits.get(i);
        bits.set(i);
        return fresh;
    }

    /** Batches of one pass trained so far. */
    public int countInPass(int pass) {
        int from = pass * epochs * batchesPerEpoch;
        return bits.get(from, from + epochs * batchesPerEpoch).cardinality();
    }

    public int count() {
        return bits.cardinality();
    }

    public int total() {
        return passes * epochs * batchesPerEpoch;
    }

    public int batchesPerPass() {
        return epochs * batchesPerEpoch;
    }

    public boolean complete() {
        return count() == total();
    }

    public String encode() {
        return passes + ":" + epochs + ":" + batchesPerEpoch + ":" + HexFormat.of().formatHex(bits.toByteArray());
    }

    public static TrainedBatches decode(String s) {
        String[] p = s.split(":", -1);
        if (p.length != 4) {
            throw new IllegalArgumentException("bad trained-batches record '" + s + "'");
        }
        return new TrainedBatches(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                BitSet.valueOf(HexFormat.of().parseHex(p[3])));
    }

    public TrainedBatches copy() {
        return new TrainedBatches(passes, epochs, batchesPerEpoch, (BitSet) bits.clone());
    }
}
