package io.kdstream.student;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.kdstream.codec.FeatureBatch;

/**
 * Where a trainer's batches come from, in record order with their positions (DESIGN.md §6): the
 * product's feed reads {@code <run>.features}; {@link StudentTrainer.Builder#optFeed} is the one
 * public seam for another feed, e.g. the pipeline benchmark's in-memory feed that measures what
 * the stream costs (docs/benchmarks.md, pipeline). A feed belongs to one trainer's thread.
 */
public interface BatchFeed extends AutoCloseable {

    /** What the feed hands to the trainer. */
    sealed interface Item permits Fetched, Rejected, Joined {
        /** Which read of the topic this came from (0 = first pass, then one per replay). */
        int pass();
    }

    /** A batch; {@code staged} holds its teacher tensors ready for libtorch, or is null. */
    record Fetched(int partition, long offset, int pass, String key, FeatureBatch batch, BatchTensors.Staged staged)
            implements Item {
    }

    record Rejected(int partition, long offset, int pass, String key, String reason) implements Item {
    }

    /**
     * A batch joined from several runs ({@link JoinedFeed}): one record per run in {@code --run}
     * order, or none when only positions moved (records dropped or sent to a run's DLQ).
     *
     * @param next     where to resume every position of the feed, should the trainer stop after this
     *                 item: records the join still holds keep their position until they are trained
     * @param rejected records sent to a run's DLQ since the previous item
     */
    record Joined(int pass, String key, java.util.List<Fetched> parts, Map<Integer, Long> next, int rejected)
            implements Item {
    }

    /** Opens a feed positioned at {@code startOffsets} (per partition; others from the start) in {@code startPass}. */
    @FunctionalInterface
    interface Opener {
        BatchFeed open(Map<Integer, Long> startOffsets, int startPass);
    }

    /** The next record, or null if none arrived within the timeout. */
    Item take(Duration timeout) throws InterruptedException;

    /** Last known end offset per partition (for lag). */
    Map<Integer, Long> endOffsets();

    /** Commits offsets to the consumer group (so lag is visible); completes once acknowledged. */
    CompletableFuture<Void> commit(Map<Integer, Long> offsets);

    /**
     * Fetches no more records until {@code paused} is false again (a join's back-pressure: records
     * already fetched still arrive). Feeds that hold nothing beyond their queue ignore it.
     */
    default void pause(boolean paused) {
    }

    /** Starts the next pass from the beginning (replay); older queued items are dropped. */
    void rewind(int newPass);

    @Override
    void close();
}
