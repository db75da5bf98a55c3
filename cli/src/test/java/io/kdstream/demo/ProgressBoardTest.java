package io.kdstream.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.StudentState;
import io.kdstream.progress.ProgressEvent;

/**
 * The demo's live view: no NaN and no 0/0, a dash until a figure exists; the loss column is the
 * cross-entropy, which every variant reports alike (the total adds each variant's own objectives,
 * so rows would not compare); frames that fit the terminal.
 */
class ProgressBoardTest {

    @Test
    void aStartingStudentShowsADashInsteadOfNaN() {
        Experiment e = Experiment.all(1).get(0);
        StudentState starting = new StudentState(e, "g-starting");
        starting.started();
        StudentState training = new StudentState(e, "g-training");
        training.started();
        training.accept(new ProgressEvent.StudentProgress("g-training", 12, 12, 40, 1.234, 1.0, 0.234, 0.0, 812.4));

        List<String> lines = new ProgressBoard(() -> null, List.of(starting, training)).lines(true);

        assertThat(lines).noneMatch(l -> l.contains("NaN"));
        assertThat(lines.get(1)).contains("    -/-     ce      -", "    - img/s").doesNotContain("0/0");
        assertThat(lines.get(2)).contains("   12/40    ce  1.000", "  812 img/s");
    }

    @Test
    void framesFitTheTerminalWidthAndMoveUpExactlyTheRowsDrawn() {
        List<StudentState> students = new ArrayList<>();
        for (Experiment e : Experiment.all(2)) { // 8 students, all training, with ETAs
            StudentState s = new StudentState(e, "g-" + e.variant() + e.seed());
            s.started();
            s.accept(new ProgressEvent.StudentProgress(s.group(), 3000, 3000, 5000, 12.345, 1.0, 0.234, 0.0, 81234.5));
            students.add(s);
        }
        var teacher = new ProgressEvent.TeacherProgress(ProgressEvent.Kind.PROGRESS, 4000, 5000, 0, 123.4, 0);
        ProgressBoard board = new ProgressBoard(() -> teacher, students);
        for (int width : new int[] {80, 200}) {
            String first = ProgressBoard.frame(board.lines(true, width), 0, width, 50);
            List<String> rows = visibleRows(first);
            assertThat(rows).hasSize(10); // teacher, 8 students, elapsed
            assertThat(rows).as("width %d", width).allMatch(r -> r.length() < width);
            assertThat(cursorUps(first)).isEmpty();
            String second = ProgressBoard.frame(board.lines(true, width), rows.size(), width, 50);
            assertThat(cursorUps(second)).as("moves up over exactly the rows drawn").containsExactly(rows.size());
            if (width == 200) {
                assertThat(rows.get(1)).as("wide: nothing cut, a full bar").contains("[############--------]", "ETA").endsWith(" s");
            } else {
                assertThat(rows.get(1)).as("narrow: the figures stay whole").contains("ce  1.000", "lag 1000");
            }
        }
    }

    @Test
    void aFrameTallerThanTheTerminalKeepsToItsRows() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("row " + i);
        }
        String frame = ProgressBoard.frame(lines, 0, 80, 24);
        List<String> rows = visibleRows(frame);
        assertThat(rows).hasSize(23);
        assertThat(rows.get(22)).startsWith("... 18 more rows");
        assertThat(cursorUps(ProgressBoard.frame(lines, rows.size(), 80, 24))).containsExactly(23);
    }

    private static final Pattern CSI = Pattern.compile("\u001b\\[(\\d*)([A-Za-z])");

    /** The rows a frame leaves on the screen: its text between newlines, escape sequences removed. */
    private static List<String> visibleRows(String frame) {
        assertThat(frame).endsWith("\n");
        List<String> rows = new ArrayList<>();
        for (String r : CSI.matcher(frame).replaceAll("").split("\n")) {
            rows.add(r);
        }
        return rows;
    }

    private static List<Integer> cursorUps(String frame) {
        List<Integer> ups = new ArrayList<>();
        Matcher m = CSI.matcher(frame);
        while (m.find()) {
            if (m.group(2).equals("A")) {
                ups.add(Integer.parseInt(m.group(1)));
            }
        }
        return ups;
    }
}
