package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;


/** train-teacher's progress in a log (not a terminal): short plain lines at a bounded rate, with the ETA. */
class TeacherProgressTest {

    private final AtomicLong clock = new AtomicLong();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TeacherProgress.Lines progress = new TeacherProgress.Lines(
            new PrintStream(bytes, true, StandardCharsets.UTF_8), clock::get);

    @Test
    void aLogGetsAboutTenShortLinesPerEpochWithTheTrainingEta() {
        int epochs = 3;
        int samples = 60_000;
        int batch = 128;
        progress.onStart(epochs, (samples + batch - 1) / batch, samples);
        for (int e = 0; e < epochs; e++) {
            for (int seen = batch; ; seen += batch) {
                clock.addAndGet(500_000_000L); // 256 img/s
                progress.onStep(e, 0, Math.min(seen, samples), 0.5f, 0.8f);
                if (seen >= samples) {
                    break;
                }
            }
            clock.addAndGet(5_000_000_000L);
            progress.onEpochEnd(e, new TeacherTrainer.EpochResult(e, 0.4, 0.85, 0.88, 234.4, 5.0));
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        List<String> lines = out.lines().toList();
        assertThat(out).doesNotContain("\r");
        assertThat(lines).allSatisfy(l -> assertThat(l.length()).isLessThan(200));
        // a start line, then per epoch 9 lines at 10%..90% (30 s apart at most) and a summary
        assertThat(lines).hasSizeBetween(1 + epochs * 10, 1 + epochs * 12);
        assertThat(lines.get(1)).startsWith("epoch 1/3  10% 6016/60000 img, 256 img/s").contains("training ETA 11m");
        assertThat(lines).filteredOn(l -> l.startsWith("epoch 1/3:")).singleElement().asString()
                .contains("test acc 0.8800").endsWith("4m00s elapsed, ETA 7m59s"); // 2 epochs + 2 evals left
        assertThat(lines.get(lines.size() - 1)).startsWith("epoch 3/3:").endsWith("done");
    }

    @Test
    void theLiveBarLeavesProgressbarsOwnJlineTerminalUnopened() throws Exception {
        // progressbar opens its own JLine terminal when asked for the width, and that terminal sets
        // SIGINT to the OS default: Ctrl-C would then skip the shutdown hooks
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        TeacherProgress.Bar bar = new TeacherProgress.Bar(new PrintStream(screen, true, StandardCharsets.UTF_8),
                clock::get);
        bar.onStart(1, 10, 1000);
        bar.onStep(0, 1, 100, 0.5f, 0.8f);
        // rendered (on progressbar's thread), and not yet closed: closing drops the terminal again
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> screen.size() > 0);
        java.lang.reflect.Field terminal = Class.forName("me.tongfei.progressbar.TerminalUtils")
                .getDeclaredField("terminal");
        terminal.setAccessible(true);
        assertThat(terminal.get(null)).as("progressbar's JLine terminal").isNull();
        bar.onEpochEnd(0, new TeacherTrainer.EpochResult(0, 0.4, 0.85, 0.88, 10, 1));
    }

    @Test
    void aSlowEpochStillPrintsAtLeastEveryThirtySeconds() {
        progress.onStart(1, 100, 100);
        for (int seen = 1; seen < 10; seen++) {
            clock.addAndGet(20_000_000_000L); // 1 image per 20 s: never reaches 10% quickly
            progress.onStep(0, seen, seen, 1f, 0.1f);
        }
        long progressLines = bytes.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("%")).count();
        assertThat(progressLines).isBetween(4L, 6L); // 180 s of training
    }

    @Test
    void durationsReadLikeAClock() {
        assertThat(TeacherProgress.duration(Double.NaN)).isEqualTo("?");
        assertThat(TeacherProgress.duration(42.4)).isEqualTo("42s");
        assertThat(TeacherProgress.duration(725)).isEqualTo("12m05s");
        assertThat(TeacherProgress.duration(3720)).isEqualTo("1h02m");
    }
    @Test
    void theLiveBarDrawsOnTheTerminalItWasChosenForNotOnStderr() {
        // the library's default writes to file descriptor 2, often a log file (kdstream demo 2>log)
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        TeacherProgress.Bar bar = new TeacherProgress.Bar(new PrintStream(terminal, true, StandardCharsets.UTF_8),
                clock::get);
        bar.onStart(1, 10, 1000);
        for (int seen = 100; seen <= 1000; seen += 100) {
            clock.addAndGet(100_000_000L);
            bar.onStep(0, seen / 100, seen, 0.5f, 0.8f);
        }
        bar.onEpochEnd(0, new TeacherTrainer.EpochResult(0, 0.4, 0.85, 0.88, 1.0, 0.1));

        assertThat(terminal.toString(StandardCharsets.UTF_8)).as("the bar, then the epoch's summary")
                .contains("1000/1000 img", "training ETA", "epoch 1/1: train loss");
    }
}
