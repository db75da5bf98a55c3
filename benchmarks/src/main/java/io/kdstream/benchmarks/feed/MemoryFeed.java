package io.kdstream.benchmarks.feed;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.kdstream.codec.FeatureBatch;
import io.kdstream.student.BatchFeed;
import io.kdstream.student.BatchTensors;

/**
 * The trainer's feed from an in-memory list of decoded, staged batches (one partition, offsets = list
 * indices), given to the product's trainer through {@code StudentTrainer.Builder.optFeed}: the
 * baseline that the pipeline benchmark holds the Kafka feed against.
 */
public final class MemoryFeed implements BatchFeed {

    private final List<FeatureBatch> batches;
    private final List<BatchTensors.Staged> staged;
    private int next;
    private int pass;

    public MemoryFeed(List<FeatureBatch> batches, Map<Integer, Long> startOffsets, int startPass) {
        this.batches = batches;
        // staged once, as the Kafka feed's fetch thread does per record
        this.staged = batches.stream().map(BatchTensors::stage).toList();
        this.next = startOffsets.getOrDefault(0, 0L).intValue();
        this.pass = startPass;
    }

    @Override
    public Item take(Duration timeout) {
        if (next >= batches.size()) {
            return null;
        }
        FeatureBatch b = batches.get(next);
        Fetched f = new Fetched(0, next, pass, b.recordKey(), b, staged.get(next));
        next++;
        return f;
    }

    @Override
    public Map<Integer, Long> endOffsets() {
        return Map.of(0, (long) batches.size());
    }

    @Override
    public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void rewind(int newPass) {
        next = 0;
        pass = newPass;
    }

    @Override
    public void close() {
    }
}
