package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.kdstream.codec.Tensor;

/**
 * kill -9 of student processes at random steps, audited from their {@code --trace} against an
 * uninterrupted student ({@link StudentKillIT} for one run, {@link JoinedStudentKillIT} for joined
 * runs): every batch of the run exactly once in the surviving history, in the same order, and the
 * same parameters bit for bit.
 */
final class KillNine {

    /** Starts a student process of group {@code group} on {@code ckpt}, tracing to {@code trace}. */
    @FunctionalInterface
    interface Starter {
        Process start(String group, Path ckpt, Path trace) throws IOException;
    }

    /** Where the two students checkpointed: the uninterrupted one and the killed one. */
    record Dirs(Path uninterrupted, Path killed, long seed) {
    }

    private KillNine() {
    }

    /**
     * An uninterrupted student, then {@code kills} processes killed at random steps and one that
     * finishes; asserts what the class comment says for a run of {@code epochs × batchesPerEpoch}.
     */
    static Dirs audit(Starter starter, Path tmp, int kills, int checkpointEvery, int epochs, int batchesPerEpoch)
            throws Exception {
        Path refTrace = tmp.resolve("ref.trace");
        awaitExit(starter.start("ref", tmp.resolve("ref"), refTrace), "uninterrupted run", tmp);

        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path trace = tmp.resolve("killed.trace");
        Path ckpt = tmp.resolve("killed");
        int total = epochs * batchesPerEpoch;
        for (int k = 0; k < kills; k++) {
            Process p = starter.start("killed", ckpt, trace);
            try {
                long from = startOf(trace, k + 1);
                // the kill lands before the last step, or the process could finish before it is due
                assertThat(from).as("room for kill %d in a run of %d steps (seed %d)", k, total, seed)
                        .isLessThan(total - 2);
                long ahead = Math.min(2 + random.nextInt(2 * checkpointEvery), total - 1 - from);
                await().atMost(Duration.ofSeconds(120)).until(() -> !p.isAlive() || lastStep(trace) >= from + ahead);
                assertThat(p.isAlive()).as("student still training when kill %d is due (seed %d)", k, seed).isTrue();
            } finally {
                p.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        awaitExit(starter.start("killed", ckpt, trace), "run after " + kills + " kills", tmp);

        StepTrace.Replay replay = StepTrace.replay(trace);
        assertThat(replay.starts()).isEqualTo(kills + 1);
        assertThat(replay.missing(1, epochs, batchesPerEpoch)).as("batches lost (seed %d)", seed).isEmpty();
        assertThat(replay.duplicates()).as("batches trained twice (seed %d)", seed).isZero();
        assertThat(replay.surviving()).hasSize(total);
        assertThat(replay.contiguous()).as("surviving steps numbered 1..%d", total).isTrue();
        assertThat(replay.surviving()).as("same batches in the same order as the uninterrupted run")
                .isEqualTo(StepTrace.replay(refTrace).surviving());
        Map<String, Tensor> a = params(tmp.resolve("ref"));
        Map<String, Tensor> b = params(ckpt);
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String name : a.keySet()) {
            assertThat(b.get(name).buffer()).as("%s equals the uninterrupted run's, bit for bit (seed %d)", name, seed)
                    .isEqualTo(a.get(name).buffer());
        }
        return new Dirs(tmp.resolve("ref"), ckpt, seed);
    }

    private static Map<String, Tensor> params(Path dir) {
        return new CheckpointStore(dir, 1).latestValid().orElseThrow().tensors();
    }

    /** The step the {@code n}-th process started from, once it wrote its start line. */
    private static long startOf(Path trace, int n) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (Files.exists(trace)) {
                List<String> starts = Files.readAllLines(trace, StandardCharsets.US_ASCII).stream()
                        .filter(l -> l.startsWith("start ")).toList();
                if (starts.size() >= n) {
                    return Long.parseLong(starts.get(n - 1).substring(6).trim());
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("student process " + n + " never started");
    }

    private static long lastStep(Path trace) throws IOException {
        List<String> lines = Files.readAllLines(trace, StandardCharsets.US_ASCII);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String[] f = lines.get(i).split(" ");
            if (f[0].equals("step") && f.length == 5) {
                return Long.parseLong(f[1]);
            }
            if (f[0].equals("start")) {
                return -1;
            }
        }
        return -1;
    }

    private static void awaitExit(Process p, String what, Path tmp) throws InterruptedException {
        try {
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as(what + " finishes").isTrue();
            assertThat(p.exitValue()).as(what + " exit code (log in " + tmp + ")").isZero();
        } finally {
            p.destroyForcibly();
        }
    }
}
