package io.kdstream.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.progress.ProgressEvent;

/** The report's plot reads at a glance: round ticks with only the decimals they need. */
class CurveChartTest {

    @TempDir
    Path dir;

    @Test
    void ticksAreRoundNumbersInsideTheRange() {
        // the accuracy axis of issue 41's report showed 0.533, 0.609; in percent it now reads 54..60
        assertThat(CurveChart.ticks(53.3, 60.9, 5)).containsExactly(54, 56, 58, 60);
        assertThat(CurveChart.ticks(0, 437, 5)).containsExactly(0, 100, 200, 300, 400);
        double[] loss = CurveChart.ticks(0.12, 2.31, 5);
        assertThat(loss).containsExactly(0.5, 1.0, 1.5, 2.0);
        assertThat(labels(loss)).containsExactly("0.5", "1.0", "1.5", "2.0");
        assertThat(labels(CurveChart.ticks(0, 437, 5))).containsExactly("0", "100", "200", "300", "400");
        double[] fine = CurveChart.ticks(0.0512, 0.0561, 5);
        assertThat(labels(fine)).allMatch(l -> l.matches("0\\.05\\d\\d?"));
    }

    @Test
    void writesAPictureOfEveryVariant() throws Exception {
        List<StudentState> students = new ArrayList<>();
        for (Experiment e : Experiment.all(1)) {
            StudentState s = new StudentState(e, e.group("r"));
            for (int step = 10; step <= 100; step += 10) {
                s.accept(new ProgressEvent.StudentProgress(s.group(), step, step, 100, 3.0 - step / 100.0,
                        2.0 - step / 100.0, 1.0, 0.0, 100));
                s.accept(new ProgressEvent.StudentEval(s.group(), step, 0.5 + step / 1000.0, 1.0));
            }
            students.add(s);
        }
        Path png = dir.resolve("curves.png");
        CurveChart.write(png, students);
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(1200);
    }

    @Test
    void theReportsDateIsToTheSecondWithItsZone() {
        java.time.ZonedDateTime at = java.time.ZonedDateTime.of(2026, 12, 7, 4, 12, 9, 123_456_789,
                java.time.ZoneId.of("Europe/Berlin"));
        assertThat(SetupFacts.date(at)).isEqualTo("2026-12-07T04:12:09+01:00");
        assertThat(SetupFacts.date()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(Z|[+-]\\d\\d:\\d\\d)");
    }

    private static List<String> labels(double[] ticks) {
        List<String> out = new ArrayList<>();
        for (double t : ticks) {
            out.add(CurveChart.label(t, ticks));
        }
        return out;
    }
}
