package io.kdstream.chaos;

import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * When a scenario's faults land, in batches of the run rather than in seconds: the run's batches
 * are cut into as many equal slots as there are faults, and fault {@code i} is due once the run has
 * reached the middle of slot {@code i} (moved by a seeded jitter of up to a quarter of a slot either
 * way), as the scenario reads its progress (a student's trained-batch count from its trace). A
 * schedule by the clock does not know how fast the run goes: on a fast machine a short run ends
 * before its later faults, on a slow one every fault lands at the start. By progress every fault
 * lands mid-run, spread over all of it, at any speed; a whole slot lies between two faults for the
 * first to be ridden out and its node restarted, and half a slot after the last for the run to
 * carry on without its victim.
 */
final class KillSchedule {

    private final long batches;
    private final long[] points;

    private KillSchedule(long batches, long[] points) {
        this.batches = batches;
        this.points = points;
    }

    /**
     * {@code kills} faults spread evenly over a run of {@code batches}, one in each slot, each at
     * least one batch after the previous one and before the last batch.
     *
     * @throws IllegalArgumentException when the run has too few batches to put each fault in a
     *         slot of its own ({@code batches < 2 * kills})
     */
    static KillSchedule evenly(int kills, long batches, Random random) {
        requireRoom(kills, batches, kills + " faults");
        long[] points = new long[kills];
        double slot = (double) batches / Math.max(1, kills);
        for (int i = 0; i < kills; i++) {
            double jitter = (random.nextDouble() - 0.5) * slot / 2;
            long p = Math.round(slot * (i + 0.5) + jitter);
            points[i] = Math.max(i == 0 ? 1 : points[i - 1] + 1, Math.min(p, batches - 1));
        }
        return new KillSchedule(batches, points);
    }

    /**
     * Refuses, naming {@code what}, a schedule whose run is too short to put each fault strictly
     * inside it: checked before any process starts.
     */
    static void requireRoom(int kills, long batches, String what) {
        if (kills < 0) {
            throw new IllegalArgumentException(what + ": the number of faults must be >= 0, not " + kills);
        }
        if (kills > 0 && batches < 2L * kills) {
            throw new IllegalArgumentException(what + ": " + kills + " faults need a run of at least "
                    + 2L * kills + " batches (two for each), not " + batches);
        }
    }

    int size() {
        return points.length;
    }

    /** The batch count at which fault {@code i} is due. */
    long point(int i) {
        return points[i];
    }

    long batches() {
        return batches;
    }

    /**
     * Waits until {@code progress} reaches fault {@code i}'s point, or the run is over
     * ({@code running} false), or {@code max} has passed. True when the fault is due and the run
     * still running: the caller injects it now. A run that passed the point while the previous
     * fault was being ridden out gets this one at once.
     */
    boolean await(int i, LongSupplier progress, BooleanSupplier running, Duration max) throws InterruptedException {
        ChaosRig.waitFor(() -> !running.getAsBoolean() || progress.getAsLong() >= points[i], max);
        return running.getAsBoolean() && progress.getAsLong() >= points[i];
    }

    @Override
    public String toString() {
        return "at batches " + Arrays.toString(points) + " of " + batches;
    }
}
