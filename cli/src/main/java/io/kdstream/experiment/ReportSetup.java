package io.kdstream.experiment;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import io.kdstream.model.ModelCard;

/**
 * The "Setup" of a demo or study report: what was run, when, where, with which teacher, data,
 * stream and students, then what only one of them records (the demo's run and throughput, the
 * study's tuning and seeds). report.md lists it in this order; report.json holds it as "setup".
 */
public record ReportSetup(String command, String date, String machine, String teacher, String data, String stream,
                          String students, Map<String, String> more) {

    public ReportSetup {
        more = Collections.unmodifiableMap(new LinkedHashMap<>(more)); // in the order the facts were added
    }

    /** Now, on this machine, with {@code card}'s teacher. */
    public static ReportSetup of(String command, ModelCard card, String data, String stream, String students) {
        return new ReportSetup(command, SetupFacts.date(), SetupFacts.machine(), SetupFacts.teacher(card), data, stream,
                students, Map.of());
    }

    /** This setup with one more fact, listed after the ones before it. */
    public ReportSetup with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(more);
        m.put(key, value);
        return new ReportSetup(command, date, machine, teacher, data, stream, students, m);
    }

    /** Every fact in report order. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", command);
        m.put("date", date);
        m.put("machine", machine);
        m.put("teacher", teacher);
        m.put("data", data);
        m.put("stream", stream);
        m.put("students", students);
        m.putAll(more);
        return m;
    }
}
