package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.Tensor;
import io.kdstream.vkd.Normalization;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The join of several runs' feeds: pairing, positions to resume from, bounded memory, refusals. */
class JoinedFeedTest {

    private static final Duration SHORT = Duration.ofMillis(20);

    /** A run's feed from a list: one partition, offsets in list order; counts what it handed over. */
    private static final class ListFeed implements BatchFeed {
        final ArrayDeque<Item> items = new ArrayDeque<>();
        final List<Boolean> pauses = new ArrayList<>();
        final List<Map<Integer, Long>> commits = new ArrayList<>();
        int handed;
        long nextOffset;

        ListFeed add(String run, int epoch, int index) {
            items.add(new Fetched(0, nextOffset++, 0, epoch + "/" + index, batch(run, epoch, index, index), null));
            return this;
        }

        @Override
        public Item take(Duration timeout) {
            Item i = items.poll();
            if (i != null) {
                handed++;
            }
            return i;
        }

        @Override
        public Map<Integer, Long> endOffsets() {
            return Map.of(0, nextOffset);
        }

        @Override
        public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
            commits.add(offsets);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void pause(boolean paused) {
            pauses.add(paused);
        }

        @Override
        public void rewind(int newPass) {
        }

        @Override
        public void close() {
        }
    }

    static FeatureBatch batch(String run, int epoch, int index, long firstSample) {
        BatchMetadata meta = new BatchMetadata(1, run, epoch, index, "t-" + run, Normalization.LAYER, "p");
        return new FeatureBatch(meta, Tensor.ofFloats(DType.F32, new int[] {2, 3}, new float[6]), null,
                new long[] {1, 2}, new long[] {firstSample, firstSample + 100}, new long[] {7, 8}, null);
    }

    private static JoinedFeed join(int bound, JoinedFeed.Trained trained, Map<Integer, Long> start, ListFeed... feeds) {
        List<BatchFeed.Opener> openers = new ArrayList<>();
        for (ListFeed f : feeds) {
            openers.add((o, p) -> f);
        }
        List<String> runs = new ArrayList<>();
        for (int i = 0; i < feeds.length; i++) {
            runs.add("run" + i);
        }
        return (JoinedFeed) JoinedFeed.opener(runs, openers, bound, trained, new SimpleMeterRegistry())
                .open(start, 0);
    }

    private static List<BatchFeed.Joined> drain(JoinedFeed feed) throws InterruptedException {
        List<BatchFeed.Joined> out = new ArrayList<>();
        BatchFeed.Item item;
        while ((item = feed.take(SHORT)) != null) {
            out.add((BatchFeed.Joined) item);
        }
        return out;
    }

    @Test
    void everyBatchComesOnceWithOneRecordPerRunInRunOrder() throws Exception {
        // orders differ between the runs, within the bound
        ListFeed a = new ListFeed().add("a", 0, 0).add("a", 0, 1).add("a", 0, 2).add("a", 0, 3);
        ListFeed b = new ListFeed().add("b", 0, 1).add("b", 0, 0).add("b", 0, 3).add("b", 0, 2);
        List<BatchFeed.Joined> joined = drain(join(4, (e, i) -> false, Map.of(), a, b));

        assertThat(joined).extracting(BatchFeed.Joined::key).containsExactlyInAnyOrder("0/0", "0/1", "0/2", "0/3");
        for (BatchFeed.Joined j : joined) {
            assertThat(j.parts()).extracting(p -> p.batch().metadata().runId()).containsExactly("a", "b");
            assertThat(j.parts()).extracting(BatchFeed.Fetched::key).containsOnly(j.key());
        }
        // the last item says both runs were read to their ends; run 1's partition 0 is position 65536
        assertThat(joined.get(joined.size() - 1).next()).containsEntry(0, 4L).containsEntry(JoinedFeed.slot(1, 0), 4L);
    }

    @Test
    void aHeldRecordKeepsItsPositionUntilItIsTrained() throws Exception {
        ListFeed a = new ListFeed().add("a", 0, 0).add("a", 0, 1);
        ListFeed b = new ListFeed().add("b", 0, 1);
        JoinedFeed feed = join(4, (e, i) -> false, Map.of(), a, b);
        BatchFeed.Joined first = (BatchFeed.Joined) feed.take(SHORT);

        assertThat(first.key()).isEqualTo("0/1");
        // a's 0/0 (offset 0) still waits for b: a crash now must read it again
        assertThat(first.next()).containsEntry(0, 0L).containsEntry(JoinedFeed.slot(1, 0), 1L);
        assertThat(feed.describeWaiting(3)).isEqualTo("run run1 misses 1 batch(es) the others delivered: 0/0");
    }

    @Test
    void aRunFarAheadIsPausedAtTheBoundAndReadNoFurther() throws Exception {
        ListFeed ahead = new ListFeed();
        for (int i = 0; i < 1000; i++) {
            ahead.add("a", 0, i);
        }
        ListFeed behind = new ListFeed();
        JoinedFeed feed = join(3, (e, i) -> false, Map.of(), ahead, behind);

        assertThat(feed.take(SHORT)).isNull();
        assertThat(ahead.handed).isEqualTo(3);
        assertThat(ahead.pauses).containsExactly(true);

        behind.add("b", 0, 0);
        assertThat(((BatchFeed.Joined) feed.take(SHORT)).key()).isEqualTo("0/0");
        assertThat(ahead.pauses).containsExactly(true, false); // a slot freed: read on
        behind.add("b", 0, 1).add("b", 0, 2).add("b", 0, 3);
        assertThat(drain(feed)).extracting(BatchFeed.Joined::key).containsExactly("0/1", "0/2", "0/3");
        assertThat(ahead.handed).isLessThanOrEqualTo(4 + 3);
    }

    @Test
    void ordersApartByMoreThanTheBoundStillJoinEveryBatch() throws Exception {
        ListFeed a = new ListFeed();
        ListFeed b = new ListFeed();
        for (int i = 0; i < 8; i++) {
            a.add("a", 0, i);
            b.add("b", 0, 7 - i);
        }
        assertThat(drain(join(2, (e, i) -> false, Map.of(), a, b))).hasSize(8);
    }

    @Test
    void randomOrdersJoinExactlyOnceAndPositionsNeverPassAHeldRecord() throws Exception {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 20; trial++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                order.add(i);
            }
            ListFeed a = new ListFeed();
            ListFeed b = new ListFeed();
            java.util.Collections.shuffle(order, rnd);
            Map<Integer, Long> offsetInB = new HashMap<>();
            order.forEach(i -> a.add("a", 0, i));
            java.util.Collections.shuffle(order, rnd);
            for (int i : order) {
                offsetInB.put(i, b.nextOffset);
                b.add("b", 0, i);
            }
            Set<String> seen = new HashSet<>();
            JoinedFeed feed = join(1 + rnd.nextInt(6), (e, i) -> false, Map.of(), a, b);
            BatchFeed.Item item;
            while ((item = feed.take(SHORT)) != null) {
                BatchFeed.Joined j = (BatchFeed.Joined) item;
                assertThat(seen.add(j.key())).isTrue();
                // every batch not yet handed over lies at or after b's resume position
                long resumeB = j.next().get(JoinedFeed.slot(1, 0));
                for (int i = 0; i < 30; i++) {
                    if (!seen.contains("0/" + i) && offsetInB.get(i) < b.nextOffset - b.items.size()) {
                        assertThat(offsetInB.get(i)).isGreaterThanOrEqualTo(resumeB);
                    }
                }
            }
            assertThat(seen).hasSize(30);
        }
    }

    @Test
    void aBatchTrainedBeforeTheResumeIsDroppedRatherThanWaitedFor() throws Exception {
        ListFeed a = new ListFeed().add("a", 0, 0).add("a", 0, 1);
        ListFeed b = new ListFeed().add("b", 0, 1);
        List<BatchFeed.Joined> joined = drain(join(4, (e, i) -> i == 0, Map.of(), a, b));

        assertThat(joined).extracting(BatchFeed.Joined::key).containsExactly("0/1");
        assertThat(joined.get(0).next()).containsEntry(0, 2L);
    }

    @Test
    void aRejectedRecordMovesThePositionsAndIsCounted() throws Exception {
        ListFeed a = new ListFeed();
        a.items.add(new BatchFeed.Rejected(0, 0, 0, "0/0", "decode"));
        a.nextOffset = 1;
        JoinedFeed feed = join(4, (e, i) -> false, Map.of(0, 0L), a, new ListFeed());
        BatchFeed.Joined j = (BatchFeed.Joined) feed.take(SHORT);

        assertThat(j.parts()).isEmpty();
        assertThat(j.rejected()).isEqualTo(1);
        assertThat(j.next()).containsEntry(0, 1L);
    }

    @Test
    void runsThatDrewOtherSamplesForABatchAreRefused() throws Exception {
        ListFeed a = new ListFeed().add("a", 0, 0);
        ListFeed b = new ListFeed();
        b.items.add(new BatchFeed.Fetched(0, 0, 0, "0/0", batch("b", 0, 0, 99), null));
        JoinedFeed feed = join(4, (e, i) -> false, Map.of(), a, b);

        assertThatThrownBy(() -> feed.take(SHORT)).hasMessageContaining("batch 0/0 holds other samples in run run1");
    }

    @Test
    void commitsGoToEachRunsOwnFeedAndStartPositionsAreSplitByRun() throws Exception {
        Map<Integer, Map<Integer, Long>> opened = new HashMap<>();
        ListFeed a = new ListFeed();
        ListFeed b = new ListFeed();
        List<BatchFeed.Opener> openers = List.of((o, p) -> {
            opened.put(0, o);
            return a;
        }, (o, p) -> {
            opened.put(1, o);
            return b;
        });
        BatchFeed feed = JoinedFeed.opener(List.of("x", "y"), openers, 2, (e, i) -> false, new SimpleMeterRegistry())
                .open(Map.of(0, 5L, JoinedFeed.slot(1, 2), 9L), 0);
        feed.commit(Map.of(0, 6L, JoinedFeed.slot(1, 2), 10L)).get();

        assertThat(opened.get(0)).containsExactly(Map.entry(0, 5L));
        assertThat(opened.get(1)).containsExactly(Map.entry(2, 9L));
        assertThat(a.commits).containsExactly(Map.of(0, 6L));
        assertThat(b.commits).containsExactly(Map.of(2, 10L));
    }
}
