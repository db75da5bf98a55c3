package io.kdstream.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** A child that hangs fails its test within the deadline, quoting what it wrote last. */
class WatchedProcessTest {

    @Test
    void aChildThatNeverExitsFailsWithinItsTimeoutWithItsLogTail() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c",
                "for i in $(seq 1 100); do echo line $i; done; echo stuck-here >&2; exec sleep 100000");
        long start = System.nanoTime();
        try (WatchedProcess p = WatchedProcess.start(pb)) {
            assertThatThrownBy(() -> p.awaitExit(Duration.ofSeconds(2)))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("did not exit within 2 s (killed)")
                    .hasMessageContaining("stuck-here")
                    .hasMessageContaining("line 100")
                    .hasMessageNotContaining("line 60\n"); // only the tail: 40 lines
            assertThat(p.process().isAlive()).as("the hung child is killed").isFalse();
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
    }

    @Test
    void aChildThatWritesMoreThanAPipeHoldsStillExitsAndKeepsItsOutput() throws Exception {
        // 1 MB on stdout: a pipe nobody drains (64 KiB) would block the child until waitFor gave up
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder("sh", "-c",
                "head -c 1000000 /dev/zero | tr '\\0' x; echo; echo done >&2"))) {
            p.assertSuccess(Duration.ofSeconds(30));
            assertThat(p.stdout()).hasSize(1_000_001);
            assertThat(p.stderr()).isEqualTo("done\n");
        }
    }

    @Test
    void aWrongExitCodeFailsWithTheOutputsTail() throws Exception {
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder("sh", "-c", "echo why-it-failed >&2; exit 3"))) {
            assertThatThrownBy(() -> p.assertSuccess(Duration.ofSeconds(30)))
                    .hasMessageContaining("exited 3, expected 0").hasMessageContaining("why-it-failed");
        }
    }
}
