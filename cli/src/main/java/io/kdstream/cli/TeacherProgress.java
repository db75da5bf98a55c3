package io.kdstream.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

import io.kdstream.console.Terminal;
import me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of {@code train-teacher}: a live bar per epoch on a terminal, plain lines elsewhere (one
 * every 10% of an epoch, or every 30 s when an epoch is slow), both with the ETA of the whole
 * training, then a summary line per epoch.
 */
abstract class TeacherProgress implements TeacherTrainer.Progress {

    protected final PrintStream out;
    protected final LongSupplier nanoClock;
    protected int epochs;
    protected int samplesPerEpoch;
    protected double emaLoss = Double.NaN;
    protected double emaAcc = Double.NaN;
    long startNanos;
    long epochStartNanos;
    private double trainSecondsDone;
    private double evalSecondsPerEpoch = Double.NaN;

    TeacherProgress(PrintStream out, LongSupplier nanoClock) {
        this.out = out;
        this.nanoClock = nanoClock;
    }

    /** The live bar on a terminal, plain lines otherwise. */
    static TeacherProgress forStdout() {
        return Terminal.isInteractive() ? new Bar(System.out, System::nanoTime)
                : new Lines(System.out, System::nanoTime);
    }

    @Override
    public void onStart(int epochs, int stepsPerEpoch, int samplesPerEpoch) {
        this.epochs = epochs;
        this.samplesPerEpoch = samplesPerEpoch;
        this.startNanos = nanoClock.getAsLong();
        this.epochStartNanos = startNanos;
    }

    @Override
    public final void onStep(int epoch, int step, int samplesInEpoch, float loss, float accuracy) {
        emaLoss = Double.isNaN(emaLoss) ? loss : 0.95 * emaLoss + 0.05 * loss;
        emaAcc = Double.isNaN(emaAcc) ? accuracy : 0.95 * emaAcc + 0.05 * accuracy;
        step(epoch, samplesInEpoch);
    }

    abstract void step(int epoch, int samplesInEpoch);

    @Override
    public void onEpochEnd(int epoch, TeacherTrainer.EpochResult r) {
        trainSecondsDone += r.trainSeconds();
        evalSecondsPerEpoch = r.evalSeconds();
        epochStartNanos = nanoClock.getAsLong();
        out.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f acc %.4f | test acc %.4f | %.0f img/s, train %.1f s, "
                        + "eval %.1f s | %s elapsed, %s%n",
                epoch + 1, epochs, r.trainLoss(), r.trainAccuracy(), r.testAccuracy(),
                samplesPerEpoch / r.trainSeconds(), r.trainSeconds(), r.evalSeconds(),
                duration(secondsSince(startNanos)), epoch + 1 < epochs ? "ETA " + duration(etaSeconds(epoch + 1, 0)) : "done");
        out.flush();
    }

    /** Seconds left in the whole training from this point, from the throughput so far (NaN before any). */
    double etaSeconds(int epoch, int samplesInEpoch) {
        double trainSeconds = trainSecondsDone + (samplesInEpoch > 0 ? secondsSince(epochStartNanos) : 0);
        long done = (long) epoch * samplesPerEpoch + samplesInEpoch;
        if (done == 0 || trainSeconds <= 0) {
            return Double.NaN;
        }
        long left = (long) epochs * samplesPerEpoch - done;
        int evalsLeft = epochs - epoch;
        double eval = Double.isNaN(evalSecondsPerEpoch) ? 0 : evalSecondsPerEpoch * evalsLeft;
        return left * trainSeconds / done + eval;
    }

    double secondsSince(long nanos) {
        return (nanoClock.getAsLong() - nanos) / 1e9;
    }

    /** "1h02m", "12m05s", "42s", or "?" while unknown. */
    static String duration(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        }
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    /** On a terminal: the progressbar library's live bar (epoch time and ETA), with the training's ETA after it. */
    static final class Bar extends TeacherProgress {
        private ProgressBar bar;

        Bar(PrintStream out, LongSupplier nanoClock) {
            super(out, nanoClock);
        }

        @Override
        void step(int epoch, int samplesInEpoch) {
            if (bar == null) {
                bar = new ProgressBarBuilder()
                        .setTaskName("epoch " + (epoch + 1) + "/" + epochs)
                        .setInitialMax(samplesPerEpoch)
                        .setUnit(" img", 1)
                        .setStyle(ProgressBarStyle.ASCII)
                        .setUpdateIntervalMillis(500)
                        // to the terminal the bar was chosen for: by default it goes to stderr, which
                        // is often a log file (kdstream demo 2>log) and got the bar's escape codes
                        .setConsumer(new InteractiveConsoleProgressBarConsumer(out) {
                            // the width from console.Terminal: asked itself, progressbar opens a JLine
                            // terminal that takes SIGINT, and Ctrl-C skips the shutdown hooks
                            @Override
                            public int getMaxRenderedLength() {
                                int columns = Terminal.size().getColumns();
                                return columns > 0 ? columns - 1 : 80;
                            }
                        })
                        .build();
            }
            bar.stepTo(samplesInEpoch);
            // the whole training's ETA first: a narrow terminal cuts the bar's line at its end
            bar.setExtraMessage(String.format(Locale.ROOT, " training ETA %s, loss %.3f acc %.3f",
                    duration(etaSeconds(epoch, samplesInEpoch)), emaLoss, emaAcc));
        }

        @Override
        public void onEpochEnd(int epoch, TeacherTrainer.EpochResult r) {
            if (bar != null) {
                bar.close();
                bar = null;
            }
            super.onEpochEnd(epoch, r);
        }
    }

    /** Not on a terminal: one short plain line every 10% of an epoch, or after 30 s without one. */
    static final class Lines extends TeacherProgress {
        static final double MAX_SILENCE_SECONDS = 30;
        private int nextTenth = 1;
        private long lastLineNanos;

        Lines(PrintStream out, LongSupplier nanoClock) {
            super(out, nanoClock);
        }

        @Override
        public void onStart(int epochs, int stepsPerEpoch, int samplesPerEpoch) {
            super.onStart(epochs, stepsPerEpoch, samplesPerEpoch);
            lastLineNanos = nanoClock.getAsLong();
            out.printf(Locale.ROOT, "training %d epochs of %d images; a line every 10%% of an epoch%n",
                    epochs, samplesPerEpoch);
            out.flush();
        }

        @Override
        void step(int epoch, int samplesInEpoch) {
            int tenth = (int) (10L * samplesInEpoch / Math.max(1, samplesPerEpoch));
            boolean slow = secondsSince(lastLineNanos) >= MAX_SILENCE_SECONDS;
            if (tenth < nextTenth && !slow || samplesInEpoch >= samplesPerEpoch) {
                return; // the epoch's end has its own summary line
            }
            nextTenth = Math.max(nextTenth, tenth + 1);
            lastLineNanos = nanoClock.getAsLong();
            double epochSeconds = secondsSince(epochStartNanos);
            out.printf(Locale.ROOT, "epoch %d/%d %3d%% %d/%d img, %.0f img/s, loss %.3f acc %.3f, training ETA %s%n",
                    epoch + 1, epochs, 100L * samplesInEpoch / samplesPerEpoch, samplesInEpoch, samplesPerEpoch,
                    epochSeconds > 0 ? samplesInEpoch / epochSeconds : 0, emaLoss, emaAcc,
                    duration(etaSeconds(epoch, samplesInEpoch)));
            out.flush();
        }

        @Override
        public void onEpochEnd(int epoch, TeacherTrainer.EpochResult r) {
            nextTenth = 1;
            super.onEpochEnd(epoch, r);
            lastLineNanos = nanoClock.getAsLong();
        }
    }
}
