package io.kdstream.student;

import java.util.Locale;

/**
 * Learning rate as a pure function of the step: linear warm-up, then cosine decay to
 * {@code minFactor·base} or step decay (×{@code gamma} at each of {@code milestones} fractions of
 * training). Being stateless, it resumes exactly from a checkpoint's step.
 */
public record LrSchedule(Kind kind, double baseLr, int warmupSteps, long totalSteps, double minFactor,
                         double gamma, double[] milestones) {

    /** Schedule shapes. */
    public enum Kind {
        COSINE, STEP, CONSTANT;

        public static Kind parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    public LrSchedule {
        if (baseLr <= 0 || warmupSteps < 0 || totalSteps <= 0) {
            throw new IllegalArgumentException("lr must be > 0, warmup >= 0 and total steps > 0");
        }
    }

    public static LrSchedule cosine(double baseLr, int warmupSteps, long totalSteps) {
        return new LrSchedule(Kind.COSINE, baseLr, warmupSteps, totalSteps, 0.0, 0.1, new double[0]);
    }

    public static LrSchedule step(double baseLr, int warmupSteps, long totalSteps) {
        return new LrSchedule(Kind.STEP, baseLr, warmupSteps, totalSteps, 0.0, 0.1, new double[] {0.5, 0.75});
    }

    public static LrSchedule of(Kind kind, double baseLr, int warmupSteps, long totalSteps) {
        return switch (kind) {
            case COSINE -> cosine(baseLr, warmupSteps, totalSteps);
            case STEP -> step(baseLr, warmupSteps, totalSteps);
            case CONSTANT -> new LrSchedule(Kind.CONSTANT, baseLr, warmupSteps, totalSteps, 1, 1, new double[0]);
        };
    }

    /** The learning rate for (0-based) {@code step}. */
    public double at(long step) {
        if (step < warmupSteps) {
            return baseLr * (step + 1) / warmupSteps;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
        return switch (kind) {
            case COSINE -> baseLr * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
            case STEP -> {
                double lr = baseLr;
                for (double m : milestones) {
                    if (progress >= m) {
                        lr *= gamma;
                    }
                }
                yield lr;
            }
            case CONSTANT -> baseLr;
        };
    }
}
