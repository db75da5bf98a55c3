package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * The chaos scenarios' faults land by the run's progress: every planned fault strictly inside the
 * run, spread over all of it, the same points for the same seed, and a wait that ends when the
 * point is reached or the run is over, not at some time.
 */
class KillScheduleTest {

    @Test
    void everyFaultLandsInsideTheRunInItsOwnSlot() {
        for (long seed = 0; seed < 200; seed++) {
            for (int kills : new int[] {1, 2, 3, 6}) {
                for (long batches : new long[] {2L * kills, 2L * kills + 1, 40, 120, 1120}) {
                    KillSchedule s = KillSchedule.evenly(kills, batches, new Random(seed));
                    assertThat(s.size()).isEqualTo(kills);
                    double slot = (double) batches / kills;
                    for (int i = 0; i < kills; i++) {
                        assertThat(s.point(i)).as("seed %d, %d kills, %d batches: %s", seed, kills, batches, s)
                                .isBetween(1L, batches - 1)
                                .isBetween((long) Math.floor(slot * (i + 0.125)), (long) Math.ceil(slot * (i + 0.375)));
                        if (i > 0) {
                            assertThat(s.point(i)).as("%s", s).isGreaterThan(s.point(i - 1));
                        }
                    }
                }
            }
        }
    }

    @Test
    void theSeedFixesThePointsAndMovesThem() {
        assertThat(KillSchedule.evenly(4, 400, new Random(7)).toString())
                .isEqualTo(KillSchedule.evenly(4, 400, new Random(7)).toString());
        assertThat(java.util.stream.LongStream.range(0, 20)
                .mapToObj(seed -> KillSchedule.evenly(4, 400, new Random(seed)).toString()).distinct().count())
                .as("seeded jitter").isGreaterThan(10);
    }

    @Test
    void aRunTooShortForItsFaultsIsRefusedBeforeAnythingStarts() {
        assertThatThrownBy(() -> KillSchedule.requireRoom(4, 7, "--cluster-kills 2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--cluster-kills 2").hasMessageContaining("at least 8 batches");
        assertThatThrownBy(() -> KillSchedule.evenly(1, 1, new Random(1))).isInstanceOf(IllegalArgumentException.class);
        assertThat(KillSchedule.evenly(0, 0, new Random(1)).size()).isZero();
    }

    @Test
    void theWaitEndsAtThePointOrWhenTheRunIsOver() throws InterruptedException {
        KillSchedule s = KillSchedule.evenly(2, 40, new Random(3));
        AtomicLong progress = new AtomicLong(s.point(0) - 1);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            progress.set(s.point(0));
        });
        t.start();
        assertThat(s.await(0, progress::get, running::get, Duration.ofMinutes(1))).as("due at its point").isTrue();
        assertThat(progress.get()).isEqualTo(s.point(0));
        t.join();

        progress.set(s.point(1) + 5); // passed while the previous fault was ridden out: due at once
        assertThat(s.await(1, progress::get, running::get, Duration.ofMillis(1))).isTrue();

        progress.set(s.point(0));
        running.set(false); // the run finished first: not injected, and no wait for a point never reached
        long t0 = System.nanoTime();
        assertThat(s.await(1, progress::get, running::get, Duration.ofMinutes(1))).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    }
}
