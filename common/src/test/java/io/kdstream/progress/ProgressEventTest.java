package io.kdstream.progress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import io.kdstream.progress.ProgressEvent.Kind;
import io.kdstream.progress.ProgressEvent.StudentEval;
import io.kdstream.progress.ProgressEvent.StudentProgress;
import io.kdstream.progress.ProgressEvent.StudentResult;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/** The progress lines stay what orchestrators and scripts already read, byte for byte. */
class ProgressEventTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void studentLinesAreTheOnesTheStudentWroteAsMaps() throws Exception {
        Map<String, Object> progress = line("progress", "student");
        progress.put("group", "g1");
        progress.put("step", 12L);
        progress.put("trained", 12);
        progress.put("total", 80);
        progress.put("loss", 1.25);
        progress.put("ce", 0.5);
        progress.put("feature", 0.75);
        progress.put("kd", 0.0);
        progress.put("samples_per_second", 1234.5);
        assertThat(new StudentProgress("g1", 12, 12, 80, 1.25, 0.5, 0.75, 0.0, 1234.5).toJson())
                .isEqualTo(JSON.writeValueAsString(progress));

        Map<String, Object> eval = line("eval", "student");
        eval.put("group", "g1");
        eval.put("step", 50L);
        eval.put("accuracy", 0.8125);
        eval.put("loss", Double.NaN);
        assertThat(new StudentEval("g1", 50, 0.8125, Double.NaN).toJson()).isEqualTo(JSON.writeValueAsString(eval));

        Map<String, Object> result = line("result", "student");
        result.put("group", "g1");
        result.put("outcome", "completed");
        result.put("steps", 80L);
        result.put("trained", 80);
        result.put("total", 80);
        result.put("accuracy", Double.NaN);
        result.put("eval_split", "test");
        result.put("best_accuracy", 0.5);
        result.put("duplicates", 1L);
        result.put("rejected", 2L);
        result.put("nonfinite", 3L);
        assertThat(new StudentResult("g1", "completed", 80, 80, 80, Double.NaN, "test", 0.5, 1, 2, 3).toJson())
                .isEqualTo(JSON.writeValueAsString(result));
    }

    @Test
    void teacherLinesAreTheOnesTheTeacherWroteAsMaps() throws Exception {
        for (Kind kind : new Kind[] {Kind.PROGRESS, Kind.RESULT}) {
            Map<String, Object> m = line(kind.wireName(), "teacher");
            m.put("batches", 40L);
            m.put("total", 400);
            m.put("samples", 2000L);
            m.put("forward_seconds", 1.5);
            m.put("paused_seconds", 0.0);
            assertThat(new TeacherProgress(kind, 40, 400, 2000, 1.5, 0.0).toJson())
                    .isEqualTo(JSON.writeValueAsString(m));
        }
    }

    @Test
    void everyEventReadsBackAsItself() {
        for (ProgressEvent e : new ProgressEvent[] {
                new StudentProgress("g", 1, 1, 8, 2.5, 2.0, 0.5, 0, 99.5),
                new StudentEval("g", 4, 0.25, 1.5),
                new StudentResult("g", "idle_timeout", 7, 7, 8, 0.5, "validation", 0.75, 0, 0, 0),
                new TeacherProgress(Kind.PROGRESS, 3, 8, 24, 0.5, 0),
                new TeacherProgress(Kind.RESULT, 8, 8, 64, 1.5, 0.25)}) {
            assertThat(ProgressEvent.parse(e.toJson())).as(e.toJson()).contains(e);
        }
        assertThat(((TeacherProgress) ProgressEvent.parse(new TeacherProgress(Kind.RESULT, 8, 8, 64, 1, 0).toJson())
                .orElseThrow()).finished()).isTrue();
        // NaN travels as "NaN" and reads back as NaN
        StudentResult nan = (StudentResult) ProgressEvent.parse(
                new StudentResult("g", "completed", 1, 1, 1, Double.NaN, "test", Double.NaN, 0, 0, 0).toJson()).orElseThrow();
        assertThat(nan.accuracy()).isNaN();
    }

    @Test
    void otherLinesAreNotEvents() {
        assertThat(ProgressEvent.parse("bootstrap.servers=127.0.0.1:9092")).isEmpty();
        assertThat(ProgressEvent.parse("{not json")).isEmpty();
        assertThat(ProgressEvent.parse("{\"event\":\"progress\",\"role\":\"planner\"}")).isEmpty();
        assertThat(ProgressEvent.parse("{\"event\":\"eval\",\"role\":\"student\",\"group\":\"g\",\"step\":3,"
                + "\"accuracy\":0.5,\"loss\":1.0,\"added_later\":true}"))
                .as("a field added later does not break a reader").contains(new StudentEval("g", 3, 0.5, 1.0));
    }

    private static Map<String, Object> line(String event, String role) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", event);
        m.put("role", role);
        return m;
    }
}
