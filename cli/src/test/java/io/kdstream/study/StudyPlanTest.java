package io.kdstream.study;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.kdstream.experiment.StudentState;
import io.kdstream.experiment.StudentSummary;

/**
 * The study's plan without processes: which students tune which row, that the other rows tune
 * with the learning rate the alone row chose, and that final students train seed-major (a study
 * cut short keeps complete, paired seeds) on the stream of their row.
 */
class StudyPlanTest {

    private static final List<StudyRow> ROWS = StudyRow.all().stream()
            .filter(r -> List.of("alone", "linear", "VkD-batch").contains(r.id())).toList();

    @Test
    void tuningFirstChoosesTheRateThenTunesTheOtherRowsWithIt() {
        StudyPlan plan = plan(1);
        List<StudentState> lr = plan.tuning(true);
        assertThat(lr).extracting(StudentState::group).containsExactly(
                "t-tune-vit-n1000-e40-alone-c0-s101", "t-tune-vit-n1000-e40-alone-c1-s101",
                "t-tune-vit-n1000-e40-alone-c2-s101", "t-tune-cnn-n1000-e40-alone-c0-s101",
                "t-tune-cnn-n1000-e40-alone-c1-s101", "t-tune-cnn-n1000-e40-alone-c2-s101");
        double[] validation = {0.70, 0.75, 0.72, 0.70, 0.75, 0.72}; // lr=0.004 wins on both archs
        for (int i = 0; i < lr.size(); i++) {
            StudentState s = lr.get(i);
            s.restore(new StudentSummary(s.group(), s.experiment().variant(), s.experiment().seed(),
                    s.experiment().objectiveArgs(), validation[i], 8, 8, 0, 1, 1, List.of(), List.of(), List.of()));
        }
        plan.choose(true);
        assertThat(plan.learningRates()).containsEntry("vit", "0.004").containsEntry("cnn", "0.004");

        List<StudentState> others = plan.tuning(false);
        assertThat(others).hasSize(2 * 2 * 3); // linear and VkD-batch, 3 candidates, 2 archs
        assertThat(others).allSatisfy(s -> assertThat(String.join(" ", s.experiment().objectiveArgs()))
                .contains("--lr 0.004"));
        plan.choose(false);
        assertThat(plan.tuning().keySet()).as("rows in their own order, keyed by (arch, row)").containsExactly(
                new StudyPlan.Key("vit", "alone"), new StudyPlan.Key("vit", "linear"), new StudyPlan.Key("vit", "VkD-batch"),
                new StudyPlan.Key("cnn", "alone"), new StudyPlan.Key("cnn", "linear"), new StudyPlan.Key("cnn", "VkD-batch"));
        assertThat(plan.job(others.get(0).group())).isEqualTo(new StudyPlan.Job("t-n1000-e10-layer", "vit", false));
    }

    @Test
    void finalStudentsTrainSeedMajorOnTheirRowsStream() {
        StudyPlan plan = plan(0);
        assertThat(plan.tuning(true)).as("--tune-seeds 0: no tuning students").isEmpty();
        plan.choose(true);
        plan.tuning(false);
        plan.choose(false);
        StudyPlan.Finals finals = plan.finals();
        assertThat(finals.cells()).extracting(StudyReport.Cell::arch).containsExactly("vit", "cnn");
        List<String> vit = finals.inOrder().subList(0, 6).stream().map(StudentState::group).toList();
        assertThat(vit).containsExactly("t-final-vit-n1000-e40-alone-s3", "t-final-vit-n1000-e40-linear-s3",
                "t-final-vit-n1000-e40-VkD-batch-s3", "t-final-vit-n1000-e40-alone-s4",
                "t-final-vit-n1000-e40-linear-s4", "t-final-vit-n1000-e40-VkD-batch-s4");
        assertThat(plan.job("t-final-vit-n1000-e40-VkD-batch-s4").run()).isEqualTo("t-n1000-e10-batch");
        assertThat(plan.streams(1000).keySet()).containsExactly("t-n1000-e10-layer", "t-n1000-e10-batch");
    }

    private static StudyPlan plan(int tuneSeeds) {
        return new StudyPlan(new StudyPlan.Settings("t", List.of("vit", "cnn"), ROWS, List.of(1000), 40, 10, "flip",
                2, 3, tuneSeeds));
    }
}
