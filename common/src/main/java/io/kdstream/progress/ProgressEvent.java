package io.kdstream.progress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * One line of the stdout progress protocol: a JSON object whose {@code "event"} and {@code "role"}
 * say which record it is; the other fields are the record's components in snake case, in order.
 * Readers ignore fields they do not know, so a field can be added without breaking one.
 */
public sealed interface ProgressEvent {

    /** The {@code "event"} field. */
    enum Kind {
        PROGRESS, EVAL, RESULT;

        @JsonValue
        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    @JsonProperty("event")
    Kind event();

    /** The {@code "role"} field: {@code teacher} or {@code student}. */
    @JsonProperty("role")
    String role();

    /** The line as written on stdout (without the newline). */
    default String toJson() {
        try {
            return ProgressJson.WRITER.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the line to stdout and flushes: a reader sees each event as it happens. */
    default void print() {
        System.out.println(toJson());
        System.out.flush();
    }

    /** The event on {@code line}, or empty if the line is not one (a log line, an unknown event). */
    static Optional<ProgressEvent> parse(String line) {
        if (!line.startsWith("{")) {
            return Optional.empty();
        }
        try {
            JsonNode n = ProgressJson.READER.readTree(line);
            Class<? extends ProgressEvent> type = switch (n.path("role").asText() + " " + n.path("event").asText()) {
                case "student progress" -> StudentProgress.class;
                case "student eval" -> StudentEval.class;
                case "student result" -> StudentResult.class;
                case "teacher progress", "teacher result" -> TeacherProgress.class;
                default -> null;
            };
            return type == null ? Optional.empty() : Optional.of(ProgressJson.READER.treeToValue(n, type));
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty(); // not JSON after all: a text line
        }
    }

    /** The event on {@code line} if it is one of {@code type}. */
    static <T extends ProgressEvent> Optional<T> parse(String line, Class<T> type) {
        return parse(line).filter(type::isInstance).map(type::cast);
    }

    /**
     * A student's step at the progress interval (and its last step): {@code loss} is the total
     * objective, {@code ce}, {@code feature} and {@code kd} its parts.
     */
    @JsonPropertyOrder({"event", "role", "group", "step", "trained", "total", "loss", "ce", "feature", "kd",
            "samples_per_second"})
    record StudentProgress(String group, long step, long trained, long total, double loss, double ce, double feature,
                           double kd, @JsonProperty("samples_per_second") double samplesPerSecond)
            implements ProgressEvent {
        @Override
        public Kind event() {
            return Kind.PROGRESS;
        }

        @Override
        public String role() {
            return "student";
        }
    }

    /** A periodic evaluation (test or validation split, {@code --eval-every}). */
    @JsonPropertyOrder({"event", "role", "group", "step", "accuracy", "loss"})
    record StudentEval(String group, long step, double accuracy, double loss) implements ProgressEvent {
        @Override
        public Kind event() {
            return Kind.EVAL;
        }

        @Override
        public String role() {
            return "student";
        }
    }

    /** The student's last line: how the run ended and the final evaluation. */
    @JsonPropertyOrder({"event", "role", "group", "outcome", "steps", "trained", "total", "accuracy", "eval_split",
            "best_accuracy", "duplicates", "rejected", "nonfinite"})
    record StudentResult(String group, String outcome, long steps, long trained, long total, double accuracy,
                         @JsonProperty("eval_split") String evalSplit,
                         @JsonProperty("best_accuracy") double bestAccuracy, long duplicates, long rejected,
                         long nonfinite) implements ProgressEvent {
        @Override
        public Kind event() {
            return Kind.RESULT;
        }

        @Override
        public String role() {
            return "student";
        }
    }

    /**
     * A teacher's counters: at the progress interval ({@code event} progress) and once when its
     * run is published ({@code event} result). {@code total} is the run's batches over all epochs.
     */
    @JsonPropertyOrder({"event", "role", "batches", "total", "samples", "forward_seconds", "paused_seconds"})
    record TeacherProgress(@JsonProperty("event") Kind event, long batches, long total, long samples,
                           @JsonProperty("forward_seconds") double forwardSeconds,
                           @JsonProperty("paused_seconds") double pausedSeconds) implements ProgressEvent {
        @Override
        public String role() {
            return "teacher";
        }

        /** The teacher's last line: its run is published. */
        @JsonIgnore
        public boolean finished() {
            return event == Kind.RESULT;
        }
    }
}
