package io.kdstream.duration;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine;

/**
 * The one duration syntax of every command: a number with a unit ({@code 250ms}, {@code 30s},
 * {@code 5m}, {@code 1h}, {@code 90d}), ISO-8601 ({@code PT30S}, {@code P90D}), or a bare number of
 * seconds (what {@code --progress-interval} took before, kept because it costs nothing).
 * Negative durations are refused.
 */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    /** The syntax, for option descriptions and error messages. */
    public static final String SYNTAX = "e.g. 250ms, 30s, 5m, 1h, 90d or ISO-8601 PT30S; a bare number is seconds";

    private static final Pattern WITH_UNIT = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)?");

    @Override
    public Duration convert(String value) {
        Duration d = parse(value);
        if (d == null) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration (" + SYNTAX + ")");
        }
        if (d.isNegative()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is negative; a duration is 0 or more");
        }
        return d;
    }

    /** The duration {@code value} names, or null when it is none of the accepted forms. */
    public static Duration parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("p") || v.startsWith("-p")) {
            try {
                return Duration.parse(v.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                return null;
            }
        }
        Matcher m = WITH_UNIT.matcher(v);
        if (!m.matches()) {
            return null;
        }
        double amount = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis = amount * switch (unit) {
            case "ms" -> 1;
            case "s" -> 1_000;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            default -> 86_400_000;
        };
        return Duration.ofMillis(Math.round(millis));
    }
}
