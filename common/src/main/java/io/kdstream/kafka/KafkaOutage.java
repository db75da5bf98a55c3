package io.kdstream.kafka;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;

/**
 * What a service says while Kafka does not answer (a broker down, restarting, or halted on a full
 * log directory): one line when the outage starts, one every {@link #REMINDER} while it lasts,
 * one when Kafka answers again — instead of a line per failed call — and the bounded,
 * exponential, jittered backoff between retries. {@link #retryUntil} is the one loop that waits an outage
 * out; every Kafka call a teacher must see through (commit, abort, a new producer's
 * {@code initTransactions}) goes through it.
 */
public final class KafkaOutage {

    public static final Duration REMINDER = Duration.ofSeconds(30);
    public static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final Logger log;
    private final String who;
    private final LongSupplier nanoClock;
    private final RandomGenerator random;
    private long since = -1;
    private long lastLine;
    private int failures;

    public KafkaOutage(Logger log, String who, LongSupplier nanoClock) {
        this(log, who, nanoClock, new SplittableRandom());
    }

    /** @param random draws the jitter (a seeded one makes tests repeatable) */
    public KafkaOutage(Logger log, String who, LongSupplier nanoClock, RandomGenerator random) {
        this.log = log;
        this.who = who;
        this.nanoClock = nanoClock;
        this.random = random;
    }

    /** Whether {@code t} (or a cause) says Kafka is not answering, rather than refusing something for good. */
    public static boolean isOutage(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RetriableException || c instanceof java.util.concurrent.TimeoutException) {
                return true; // Kafka's TimeoutException is a RetriableException
            }
            if (c instanceof IllegalStateException
                    && String.valueOf(c.getMessage()).contains("timed out and must be retried")) {
                return true; // the producer after a commit or abort that timed out
            }
        }
        return false;
    }

    /** A call failed because Kafka did not answer: logs at the outage's start and every {@link #REMINDER}. */
    public synchronized void failed(String doing, Throwable e) {
        long now = nanoClock.getAsLong();
        failures++;
        if (since < 0) {
            since = now;
            lastLine = now;
            log.warn("{}: Kafka not answering while {} ({}); waiting for it, retrying with backoff", who, doing,
                    rootMessage(e));
        } else if (now - lastLine >= REMINDER.toNanos()) {
            lastLine = now;
            log.warn("{}: Kafka unreachable for {} s; still waiting ({} failed calls so far; last while {}: {})", who,
                    seconds(now - since), failures, doing, rootMessage(e));
        }
    }

    /** Kafka answered: ends an outage (one line) and resets the backoff. */
    public synchronized void answered() {
        if (since >= 0) {
            log.info("{}: Kafka reachable again after {} s", who, seconds(nanoClock.getAsLong() - since));
        }
        since = -1;
        failures = 0;
    }

    /**
     * Calls {@code action} until it completes, waiting an outage out: a failure that says Kafka is
     * not answering ({@link #isOutage}) is logged as part of the outage and retried after the
     * {@link #backoff}; any other failure is thrown as it is.
     *
     * @param deadlineNanos {@link System#nanoTime()}-based: after it, the next outage failure ends
     *                      the wait with {@link OutlastedException}
     * @param doing         what the call does, for the log lines ("committing work item 3/8")
     * @param stopping      when it turns true the wait ends early
     * @return true once {@code action} completed; false if the teacher is stopping before it did
     *         (the call's outcome is then unknown)
     * @throws OutlastedException if Kafka did not answer before the deadline
     */
    public boolean retryUntil(long deadlineNanos, String doing, BooleanSupplier stopping, Runnable action) {
        while (true) {
            try {
                action.run();
                return true; // the caller decides whether this ends the outage (an abort alone does not)
            } catch (RuntimeException e) {
                if (!isOutage(e)) {
                    throw e;
                }
                if (stopping.getAsBoolean()) {
                    log.warn("{}: stopping, so not retrying {}: {}", who, doing, rootMessage(e));
                    return false;
                }
                if (nanoClock.getAsLong() - deadlineNanos > 0) {
                    throw new OutlastedException(who + ": " + doing + " got no answer from Kafka until the deadline ("
                            + failures + " failed calls); is the broker reachable? " + rootMessage(e), e);
                }
                failed(doing, e);
                if (!sleep(backoff(), stopping)) {
                    return false;
                }
            }
        }
    }

    /**
     * Waits {@code d}, or less once {@code stopping} turns true.
     *
     * @return false if the wait was cut short by {@code stopping} or an interrupt (the interrupt
     *         flag is kept)
     */
    public static boolean sleep(Duration d, BooleanSupplier stopping) {
        long until = System.nanoTime() + d.toNanos();
        try {
            while (System.nanoTime() < until) {
                if (stopping.getAsBoolean()) {
                    return false;
                }
                Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
            return !stopping.getAsBoolean();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public synchronized boolean ongoing() {
        return since >= 0;
    }

    /**
     * The wait before the next retry: a ceiling of 1 s after the first failure, doubling, at most
     * {@link #MAX_BACKOFF}, and a uniform draw between half the ceiling and the ceiling, so that
     * teachers that lost the broker at the same moment do not all retry at the same moment.
     */
    public synchronized Duration backoff() {
        int n = Math.max(0, Math.min(failures - 1, 5));
        long ceilingMs = Math.min(MAX_BACKOFF.toMillis(), 1000L << n);
        return Duration.ofMillis(jitter(ceilingMs, random));
    }

    /** "Equal jitter": uniform in [ms/2, ms]; callers that retry together spread over half the wait. */
    public static long jitter(long ms, RandomGenerator random) {
        return ms / 2 + random.nextLong(ms / 2 + 1);
    }

    private static long seconds(long nanos) {
        return Math.round(nanos / 1e9);
    }

    private static String rootMessage(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getClass().getSimpleName() + (c.getMessage() != null ? ": " + c.getMessage() : "");
    }

    /** Kafka did not answer a call that {@link #retryUntil} had to see through before its deadline. */
    public static final class OutlastedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OutlastedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
