package io.kdstream.experiment;

import java.util.Locale;

import io.kdstream.model.ModelCard;

/** Facts the demo's and the study's reports state in their Setup section, worded the same in both. */
public final class SetupFacts {

    private SetupFacts() {
    }

    /** Cores, OS and Java of this machine. */
    public static String machine() {
        return Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }

    /** The teacher: architecture, feature dimension, test accuracy and parameter hash. */
    public static String teacher(ModelCard card) {
        return card.arch() + ", d_t=" + card.featureDim() + ", test accuracy " + percent(card.testAccuracy())
                + ", id " + card.parametersSha256();
    }

    /** {@code 0.8734} as {@code 87.34%}; null (never measured) as {@code unknown}. */
    public static String percent(Double d) {
        return d == null ? "unknown" : String.format(Locale.ROOT, "%.2f%%", 100 * d);
    }

    /** When a report was written: to the second, with the zone's offset (2026-12-07T04:12:09+01:00). */
    public static String date(java.time.ZonedDateTime now) {
        return now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                .format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }

    /** {@link #date(java.time.ZonedDateTime)} of now, in the machine's zone. */
    public static String date() {
        return date(java.time.ZonedDateTime.now());
    }
}
