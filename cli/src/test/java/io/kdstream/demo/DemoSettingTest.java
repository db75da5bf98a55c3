package io.kdstream.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.cli.KdstreamCommand;
import io.kdstream.config.CommandLines;
import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.StudentState;
import io.kdstream.progress.ProgressEvent;
import picocli.CommandLine;

/**
 * The demo's setting and its table: the default is the study's setting where VkD pays, every
 * student it starts passes the student's option checks (no option that would do nothing), and the
 * paired differences under the table say whether VkD leads by more than the seed noise.
 */
class DemoSettingTest {

    @TempDir
    Path dir;

    @Test
    void theDefaultIsTheStudysSettingAndQuickStaysTheSmokeTest() {
        DemoCommand.Setting main = setting();
        assertThat(main).isEqualTo(new DemoCommand.Setting(8, 1000, 20, 40, 128, "vit-pool", "crop+flip", false));
        assertThat(main.experiments()).extracting(Experiment::variant).startsWith("alone", "linear", "VkD", "alone");
        assertThat(main.stepsPerStudent()).isEqualTo(320);
        // the first screen's estimate of the default's phase 2 keeps the budget for a run with a cached teacher
        assertThat(DemoCommand.studentsSeconds(main, 2)).isBetween(5 * 60.0, 10 * 60.0);
        DemoCommand.Setting quick = setting("--quick");
        assertThat(quick.arch()).isEqualTo("mlp");
        assertThat(quick.experiments()).extracting(Experiment::variant).containsExactly("alone", "logit", "linear", "VkD");
        assertThat(DemoCommand.studentsSeconds(quick, 2)).isEqualTo(DemoCommand.QUICK_STUDENTS_SECONDS);
    }

    @Test
    void everyStudentTheDemoStartsPassesTheStudentsOptionChecks() {
        for (String[] args : List.of(new String[0], new String[] {"--quick"}, new String[] {"--student-arch", "cnn"})) {
            DemoCommand demo = command(args);
            DemoCommand.Setting set = demo.setting();
            for (Experiment e : set.experiments()) {
                List<String> student = new ArrayList<>(List.of("student"));
                student.addAll(demo.studentArgs(new StudentState(e, e.group("r")), "r", "127.0.0.1:1", set, dir));
                CommandLine cmd = KdstreamCommand.commandLine()
                        .setExecutionStrategy(CommandLines.checking(parsed -> 99));
                StringWriter err = new StringWriter();
                cmd.setErr(new PrintWriter(err, true));
                assertThat(CommandLines.execute(cmd, student.toArray(String[]::new))).as(student + ": " + err)
                        .isEqualTo(99);
            }
        }
    }

    @Test
    void pairedDifferencesUnderTheTableSayWhetherVkdLeadsBeyondSeedNoise() {
        List<StudentState> students = new ArrayList<>();
        double[][] acc = {{0.7074, 0.7168, 0.7288}, {0.7075, 0.7125, 0.7193}, {0.7067, 0.7214, 0.7366},
            {0.7016, 0.7216, 0.7323}}; // per seed: alone, linear, VkD (the study's seeds 11-14)
        for (int seed = 1; seed <= 4; seed++) {
            for (int row = 0; row < 3; row++) {
                Experiment e = Experiment.demo(4, true).get(3 * (seed - 1) + row);
                StudentState s = new StudentState(e, e.group("r"));
                s.started();
                s.accept(new ProgressEvent.StudentResult(s.group(), "completed", 640, 640, 640, acc[seed - 1][row],
                        "test", acc[seed - 1][row], 0, 0, 0));
                s.exited(0);
                students.add(s);
            }
        }
        String text = DemoReport.differences(students);
        assertThat(text).contains("| | − alone | − linear |", "| VkD | +2.34 [+0.94, +3.75] | +1.12 [+0.56, +1.67] |",
                "VkD is ahead of every other row by more than the seed noise");
        students.removeIf(s -> s.experiment().seed() > 1);
        assertThat(DemoReport.differences(students)).contains("(1 seed: no interval)", "One seed per row: no interval");
    }

    private DemoCommand.Setting setting(String... args) {
        return command(args).setting();
    }

    private static DemoCommand command(String... args) {
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs(args);
        return demo;
    }
}
