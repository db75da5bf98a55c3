package io.kdstream.student;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The feeds of several runs joined by batch key {@code <epoch>/<batch>} (issue 39): a batch reaches
 * the trainer once every run has delivered it, as one {@link BatchFeed.Joined} with each run's record
 * in {@code --run} order. Each run keeps its own feed: its own consumer, fetch thread, DLQ and
 * consumer-group commits on its own topic, so each run's teachers see the student's lag there.
 *
 * <p><b>Positions.</b> Partition {@code p} of the {@code i}-th run is position {@code i·65536 + p}
 * of this feed, so the trainer's state and checkpoint keep one map of next offsets, and a one-run
 * feed's positions are its partition numbers (one-run checkpoints are unchanged). Runs deliver their
 * batches in different orders, so a record the join still holds keeps its offset as the position to
 * resume from until it is trained; every item carries the resulting positions ({@link Joined#next()}).
 * A record taken again after a resume that the pass already trained is dropped here: its partner
 * lies behind the other run's position and would never come.
 *
 * <p><b>Memory.</b> The join holds at most {@code bound} records per run; a run that has that many
 * waiting for the others is no longer read and its consumer is paused ({@link BatchFeed#pause}), so a
 * run far ahead stays on the broker. Only when every run is at the bound (their orders differ by
 * more than the bound, so no batch can complete) does the join read on past it, with a warning.
 *
 * <p>Confined to the trainer's thread, like every feed.
 */
final class JoinedFeed implements BatchFeed {

    private static final Logger LOG = LoggerFactory.getLogger(JoinedFeed.class);

    /** Positions per run: partition numbers of a run stay below this. */
    static final int SLOTS_PER_RUN = 1 << 16;

    /** The longest wait on one run's feed before the others are looked at again. */
    private static final Duration MAX_WAIT = Duration.ofMillis(50);

    /** Whether the pass in progress already trained batch {@code index} of {@code epoch}. */
    @FunctionalInterface
    interface Trained {
        boolean contains(int epoch, int index);
    }

    private final List<String> runs;
    private final List<BatchFeed> feeds;
    private final int bound;
    private final Trained trained;
    private final List<Timer> joinWait;
    private final Map<String, Waiting> waiting = new LinkedHashMap<>();
    private final int[] held;
    private final boolean[] paused;
    private final List<Map<Integer, Long>> taken = new ArrayList<>();
    private final List<Map<Integer, TreeSet<Long>>> pending = new ArrayList<>();
    private int pass;
    private int rejected;
    private int turn;
    private boolean overflowing;
    private boolean warnedOverflow;

    /** A batch some runs have delivered, waiting for the others. */
    private static final class Waiting {
        final Fetched[] parts;
        final long since = System.nanoTime();
        int count;

        Waiting(int runs) {
            parts = new Fetched[runs];
        }
    }

    private JoinedFeed(List<String> runs, List<BatchFeed> feeds, Map<Integer, Long> start, int startPass, int bound,
                       Trained trained, MeterRegistry registry) {
        this.runs = List.copyOf(runs);
        this.feeds = List.copyOf(feeds);
        this.bound = bound;
        this.trained = trained;
        this.pass = startPass;
        this.held = new int[runs.size()];
        this.paused = new boolean[runs.size()];
        List<Timer> timers = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            taken.add(new HashMap<>(perRun(start, i)));
            pending.add(new HashMap<>());
            timers.add(joinWait(registry, runs.get(i)));
        }
        this.joinWait = List.copyOf(timers);
    }

    /**
     * Opens one feed per run with its part of the start positions and joins them.
     *
     * @param bound   records held per run while they wait for the others (the student's prefetch)
     * @param trained the trainer's exactly-once record, read on the trainer's thread
     */
    static Opener opener(List<String> runs, List<Opener> perRun, int bound, Trained trained, MeterRegistry registry) {
        if (runs.size() != perRun.size() || runs.isEmpty() || bound <= 0) {
            throw new IllegalArgumentException("one feed per run and a bound > 0, got " + runs + ", " + perRun.size()
                    + " feeds, bound " + bound);
        }
        return (start, startPass) -> {
            List<BatchFeed> opened = new ArrayList<>();
            try {
                for (int i = 0; i < runs.size(); i++) {
                    opened.add(perRun.get(i).open(perRun(start, i), startPass));
                }
            } catch (RuntimeException e) {
                opened.forEach(BatchFeed::close);
                throw e;
            }
            return new JoinedFeed(runs, opened, start, startPass, bound, trained, registry);
        };
    }

    /**
     * How long the other runs' records of a batch waited for {@code run}'s record. A one-run student
     * registers it too (it stays at zero), so dashboards and alerts find the series on every student.
     */
    static Timer joinWait(MeterRegistry registry, String run) {
        return Timer.builder("kdstream.student.join.wait").tag("joined_run", run)
                .description("Time the other runs' records of a batch waited for this run's record")
                .register(registry);
    }

    /** The feed position of partition {@code partition} of the {@code run}-th run. */
    static int slot(int run, int partition) {
        if (partition < 0 || partition >= SLOTS_PER_RUN) {
            throw new IllegalStateException("partition " + partition + " is beyond the " + SLOTS_PER_RUN
                    + " a joined run may have");
        }
        return run * SLOTS_PER_RUN + partition;
    }

    /** Which run a position belongs to. */
    static int runOf(int slot) {
        return slot / SLOTS_PER_RUN;
    }

    private static Map<Integer, Long> perRun(Map<Integer, Long> slots, int run) {
        Map<Integer, Long> out = new HashMap<>();
        slots.forEach((s, o) -> {
            if (runOf(s) == run) {
                out.put(s % SLOTS_PER_RUN, o);
            }
        });
        return out;
    }

    List<String> runs() {
        return runs;
    }

    @Override
    public Item take(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean stalled = stalled();
            boolean any = false;
            for (int k = 0; k < feeds.size(); k++) {
                int i = (turn + k) % feeds.size();
                if (held[i] >= bound && !stalled) {
                    continue;
                }
                Item item = feeds.get(i).take(Duration.ZERO);
                if (item == null) {
                    continue;
                }
                any = true;
                turn = i + 1;
                Joined joined = accept(i, item);
                if (joined != null) {
                    return joined;
                }
                break; // the bounds may have changed: look again from the top
            }
            if (rejected > 0) {
                return new Joined(pass, null, List.of(), positions(), takeRejected());
            }
            if (any) {
                continue;
            }
            if (System.nanoTime() >= deadline) {
                return null;
            }
            // nothing queued: wait on a run the next batch cannot complete without
            int i = needed(stalled);
            Item item = feeds.get(i).take(Duration.ofNanos(Math.min(deadline - System.nanoTime(), MAX_WAIT.toNanos())));
            if (item != null) {
                turn = i + 1;
                Joined joined = accept(i, item);
                if (joined != null) {
                    return joined;
                }
            }
        }
    }

    /**
     * The run to wait on: one that misses the oldest batch the join holds, else (nothing held) the
     * next in turn; a run at the bound only while every run is.
     */
    private int needed(boolean stalled) {
        if (!waiting.isEmpty()) {
            Fetched[] oldest = waiting.values().iterator().next().parts;
            for (int i = 0; i < oldest.length; i++) {
                if (oldest[i] == null && (held[i] < bound || stalled)) {
                    return i;
                }
            }
        }
        for (int k = 0; k < feeds.size(); k++) {
            int i = (turn + k) % feeds.size();
            if (held[i] < bound || stalled) {
                return i;
            }
        }
        return turn % feeds.size();
    }

    /** Every run holds {@code bound} records and no batch can complete: their orders differ by more. */
    private boolean stalled() {
        for (int h : held) {
            if (h < bound) {
                if (overflowing) {
                    overflowing = false;
                    applyPauses();
                }
                return false;
            }
        }
        if (!overflowing) {
            overflowing = true;
            if (warnedOverflow) {
                LOG.debug("joined runs: past the bound again ({})", describeWaiting(3));
            } else {
                warnedOverflow = true;
                LOG.warn("joined runs deliver batches in orders more than --prefetch {} apart ({}); reading on past the "
                    + "bound until a batch completes (a larger --prefetch avoids this)", bound, describeWaiting(3));
            }
            for (int i = 0; i < feeds.size(); i++) {
                setPaused(i, false);
            }
        }
        return true;
    }

    private Joined accept(int run, Item item) {
        if (item.pass() != pass) {
            return null; // queued before a rewind
        }
        if (item instanceof Rejected r) {
            taken.get(run).put(r.partition(), r.offset() + 1);
            rejected++; // the run's feed sent it to the run's DLQ
            return null;
        }
        if (!(item instanceof Fetched f)) {
            throw new IllegalStateException("a run's feed handed over " + item);
        }
        taken.get(run).put(f.partition(), f.offset() + 1);
        int epoch = f.batch().metadata().epoch();
        int index = f.batch().metadata().batchIndex();
        if (trained.contains(epoch, index)) {
            return null; // taken again after a resume; its partners are behind the other runs' positions
        }
        String key = epoch + "/" + index;
        Waiting w = waiting.computeIfAbsent(key, k -> new Waiting(feeds.size()));
        if (w.parts[run] != null) {
            return null; // delivered twice by this run; the first copy waits already
        }
        w.parts[run] = f;
        w.count++;
        held[run]++;
        pending.get(run).computeIfAbsent(f.partition(), p -> new TreeSet<>()).add(f.offset());
        if (w.count < feeds.size()) {
            applyPauses();
            return null;
        }
        waiting.remove(key);
        for (int i = 0; i < feeds.size(); i++) {
            Fetched part = w.parts[i];
            pending.get(i).get(part.partition()).remove(part.offset());
            held[i]--;
            requireSameSamples(w.parts[0], runs.get(0), part, runs.get(i));
        }
        joinWait.get(run).record(System.nanoTime() - w.since, TimeUnit.NANOSECONDS);
        applyPauses();
        return new Joined(pass, key, List.of(w.parts), positions(), takeRejected());
    }

    /** Runs whose manifests agree must still have drawn the same samples; refuse to train otherwise. */
    private static void requireSameSamples(Fetched a, String runA, Fetched b, String runB) {
        if (!Arrays.equals(a.batch().sampleIds(), b.batch().sampleIds())
                || !Arrays.equals(a.batch().augSeeds(), b.batch().augSeeds())
                || !Arrays.equals(a.batch().labels(), b.batch().labels())) {
            throw new IllegalStateException("batch " + a.batch().recordKey() + " holds other samples in run " + runB
                    + " than in run " + runA + " (sample ids, augmentation seeds or labels differ): the runs' "
                    + "manifests agree but their teachers read different data; they cannot be joined");
        }
    }

    private void applyPauses() {
        if (overflowing) {
            return;
        }
        for (int i = 0; i < feeds.size(); i++) {
            setPaused(i, held[i] >= bound);
        }
    }

    private void setPaused(int run, boolean p) {
        if (paused[run] != p) {
            paused[run] = p;
            feeds.get(run).pause(p);
        }
    }

    private int takeRejected() {
        int r = rejected;
        rejected = 0;
        return r;
    }

    /** Where each position resumes: the oldest record the join still holds, else after the last one taken. */
    private Map<Integer, Long> positions() {
        Map<Integer, Long> out = new HashMap<>();
        for (int i = 0; i < feeds.size(); i++) {
            for (Map.Entry<Integer, Long> e : taken.get(i).entrySet()) {
                TreeSet<Long> held = pending.get(i).get(e.getKey());
                out.put(slot(i, e.getKey()), held == null || held.isEmpty() ? e.getValue() : held.first());
            }
        }
        return out;
    }

    /**
     * Which run misses which batches that others have delivered, at most {@code limit} keys per run
     * (for the idle timeout's message); empty when nothing waits.
     */
    String describeWaiting(int limit) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < feeds.size(); i++) {
            int run = i;
            List<String> missing = waiting.entrySet().stream().filter(e -> e.getValue().parts[run] == null)
                    .map(Map.Entry::getKey).toList();
            if (!missing.isEmpty()) {
                out.add("run " + runs.get(i) + " misses " + missing.size() + " batch(es) the others delivered: "
                        + missing.stream().limit(limit).collect(Collectors.joining(", "))
                        + (missing.size() > limit ? ", ..." : ""));
            }
        }
        return String.join("; ", out);
    }

    @Override
    public Map<Integer, Long> endOffsets() {
        Map<Integer, Long> out = new TreeMap<>();
        for (int i = 0; i < feeds.size(); i++) {
            int run = i;
            feeds.get(i).endOffsets().forEach((p, o) -> out.put(slot(run, p), o));
        }
        return out;
    }

    /** Commits each run's positions to the student's group on that run's own topic. */
    @Override
    public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
        CompletableFuture<?>[] all = new CompletableFuture<?>[feeds.size()];
        for (int i = 0; i < feeds.size(); i++) {
            all[i] = feeds.get(i).commit(perRun(offsets, i));
        }
        return CompletableFuture.allOf(all);
    }

    @Override
    public void rewind(int newPass) {
        feeds.forEach(f -> f.rewind(newPass));
        waiting.clear();
        Arrays.fill(held, 0);
        taken.forEach(Map::clear);
        pending.forEach(Map::clear);
        rejected = 0;
        pass = newPass;
        overflowing = false;
        applyPauses();
    }

    @Override
    public void close() {
        feeds.forEach(BatchFeed::close);
    }
}
