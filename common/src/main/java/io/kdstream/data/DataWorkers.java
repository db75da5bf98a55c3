package io.kdstream.data;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The data workers ({@code --data-workers N}): threads that read, decode, resize and augment the
 * samples of a batch in parallel, off the model's thread. With one worker the samples are done on
 * the calling thread (the teacher's loader or the student's fetch thread, already off the model's).
 * The workers take the batch's samples one at a time from a shared counter, and each sample is
 * written to its own part of the batch's array, so the result does not depend on the number of
 * workers or on which worker takes which sample. (Fixed slices, one per worker, left a batch waiting
 * for the slowest worker: on two cores shared with other work, two workers read fewer images per
 * second than one; docs/benchmarks.md, issue 37.)
 */
public final class DataWorkers implements AutoCloseable {
    /** In-line: every sample on the calling thread. */
    public static final DataWorkers INLINE = new DataWorkers(1);

    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int count;
    private final ExecutorService pool;

    private DataWorkers(int count) {
        this.count = count;
        if (count > 1) {
            int id = POOLS.incrementAndGet();
            AtomicInteger n = new AtomicInteger();
            this.pool = Executors.newFixedThreadPool(count, r -> {
                Thread t = new Thread(r, "kdstream-data-" + id + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        } else {
            this.pool = null;
        }
    }

    /** {@code n} workers (1 = in-line). */
    public static DataWorkers of(int n) {
        if (n < 1 || n > 256) {
            throw new IllegalArgumentException("--data-workers must be in [1, 256], got " + n);
        }
        return n == 1 ? INLINE : new DataWorkers(n);
    }

    /**
     * The default: half the cores, at least one, so a CPU model keeps the other half for its own
     * threads (libtorch's intra-op pool); a GPU teacher wants more (give {@code --data-workers}).
     */
    public static int defaultCount() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    public int count() {
        return count;
    }

    /**
     * Runs {@code task} for every index in [0, n), each index once, the workers taking the next one
     * as they finish the last; returns when all are done.
     */
    public void forEach(int n, IntConsumer task) {
        if (pool == null || n <= 1) {
            for (int i = 0; i < n; i++) {
                task.accept(i);
            }
            return;
        }
        int takers = Math.min(count, n);
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>(takers);
        for (int s = 0; s < takers; s++) {
            done.add(pool.submit(() -> {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    try {
                        task.accept(i);
                    } catch (RuntimeException | Error e) {
                        next.set(n); // the batch has failed: the others take no more samples
                        throw e;
                    }
                }
            }));
        }
        try {
            for (Future<?> f : done) {
                f.get();
            }
        } catch (InterruptedException e) {
            done.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while the data workers read a batch");
        } catch (ExecutionException e) {
            done.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
