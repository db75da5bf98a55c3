package io.kdstream.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import io.kdstream.process.ChildProcess;

/**
 * When a scenario's faults land, in batches of the run rather than in seconds: the run's batches
 * are cut into as many equal slots as there are faults, and fault {@code i} is due once the run has
 * reached a quarter of slot {@code i} (moved by a seeded jitter of up to an eighth of a slot either
 * way), as the scenario reads its progress (a student's trained-batch count from its trace).
 * Pacing each fault by a fixed amount of progress after the previous one was ridden out (the
 * single-process loops do) ties the faults to how long each recovery took: they crowd the start of
 * a long run, and a short run can end while a restarted node is still catching up, its later
 * faults never injected. Here every fault lands mid-run, spread over all of it, at any speed; about
 * a slot lies between two faults for the first to be ridden out and its broker restarted, and three
 * quarters of one after the last: a fault due while the previous victim still restarts lands once it
 * is back, late in its slot, and the run must not end first.
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
            double jitter = (random.nextDouble() - 0.5) * slot / 4;
            long p = Math.round(slot * (i + 0.25) + jitter);
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

    /**
     * {@link #await} by a student's trace: fault {@code i} is due while the student is alive and
     * still has batches to train (after its last one it only evaluates); logs why when it is not.
     */
    boolean awaitStudent(int i, Path trace, ChildProcess student) throws InterruptedException {
        LongSupplier trained = () -> ExactlyOnceAudit.lastStep(trace);
        if (await(i, trained, () -> student.isAlive() && trained.getAsLong() < batches, ChaosRig.RUN_DEADLINE)) {
            return true;
        }
        ChaosRig.log("fault %d not injected: the student at batch %d of %d (due at %d), alive %s", i + 1,
                trained.getAsLong(), batches, points[i], student.isAlive());
        return false;
    }

    @Override
    public String toString() {
        return "at batches " + Arrays.toString(points) + " of " + batches;
    }
}
