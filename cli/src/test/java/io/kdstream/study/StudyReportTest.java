package io.kdstream.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.experiment.Experiment;
import io.kdstream.experiment.ReportSetup;
import io.kdstream.experiment.StudentState;
import io.kdstream.experiment.StudentSummary;

/** The study's statistics, its resumable store and its report, on made-up students (no processes). */
class StudyReportTest {

    @TempDir
    Path tmp;

    @Test
    void pairedDifferenceHasAStudentTInterval() {
        // differences 1, 2, 3: mean 2, sd 1, half-width t(0.975, 2) * 1 / sqrt(3) = 4.3026527 / 1.732
        PairedDifference d = PairedDifference.of(List.of(0.81, 0.82, 0.83), List.of(0.80, 0.80, 0.80));
        assertThat(d.n()).isEqualTo(3);
        assertThat(d.mean()).isCloseTo(0.02, within(1e-12));
        assertThat(d.high() - d.mean()).isCloseTo(0.01 * 4.302652730 / Math.sqrt(3), within(1e-9));
        assertThat(d.positive()).isFalse(); // 2 ± 2.48 points includes 0
        PairedDifference tight = PairedDifference.of(List.of(0.82, 0.821, 0.819, 0.82, 0.82),
                List.of(0.80, 0.80, 0.80, 0.80, 0.80));
        assertThat(tight.positive()).isTrue();
        assertThat(PairedDifference.of(List.of(0.9), List.of(0.8)).positive()).as("one seed proves nothing").isFalse();
    }

    @Test
    void tQuantileMatchesTheTableOnBothSidesOfThirtyDegreesOfFreedom() {
        // t_{0.975, df} to 9 digits (checked by integrating the t density)
        double[][] table = {{1, 12.70620474}, {5, 2.570581836}, {30, 2.042272456}, {31, 2.039513446},
                {60, 2.000297822}, {120, 1.979930405}};
        for (double[] row : table) {
            assertThat(PairedDifference.tQuantile((int) row[0])).as("df %d", (int) row[0]).isCloseTo(row[1], within(1e-6));
        }
        // 32 seeds (df 31): the half-width is t(31) * sd / sqrt(n), not 1.96 * sd / sqrt(n)
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            a.add(0.8 + (i % 2 == 0 ? 0.01 : -0.01));
            b.add(0.8);
        }
        double sd = 0.01 * Math.sqrt(32.0 / 31);
        assertThat(PairedDifference.of(a, b).high()).isCloseTo(2.039513446 * sd / Math.sqrt(32), within(1e-9));
    }

    @Test
    void storeKeepsOnlyFinishedStudentsAndTheirObjective() throws Exception {
        StudyStore store = new StudyStore(tmp);
        StudentState done = student("VkD", 1, 0.85, List.of("--alpha", "1"), 0, List.of(new double[] {100, 0.7}));
        store.save(done);
        StudentState failed = student("alone", 1, 0.5, List.of("--alpha", "0"), 1, List.of());
        store.save(failed);

        StudentState again = new StudentState(done.experiment(), done.group());
        assertThat(store.restore(again)).isTrue();
        assertThat(again.finalAccuracy()).isEqualTo(0.85);
        assertThat(again.succeeded()).isTrue();
        assertThat(again.evalCurve()).hasSize(1);
        assertThat(again.wallSeconds()).isCloseTo(done.wallSeconds(), within(1e-6));
        assertThat(store.restore(new StudentState(failed.experiment(), failed.group()))).as("a failed student reruns").isFalse();
        StudentState changed = new StudentState(new Experiment("VkD", 1, List.of("--alpha", "2")), done.group());
        assertThat(store.restore(changed)).as("same name, other objective: reruns").isFalse();
        assertThat(store.files()).hasSize(1);
    }

    /** Exactly what the store wrote before StudentSummary existed: a resumed study must still reuse it. */
    private static final String STORED_BY_EARLIER_VERSION = "{\"group\":\"t-VkD-s1\",\"variant\":\"VkD\",\"seed\":1,"
            + "\"args\":[\"--alpha\",\"1\"],\"accuracy\":0.85,\"trained\":10,\"total\":10,\"exit_code\":0,"
            + "\"wall_seconds\":2.5,\"samples_per_second\":0.0,\"eval_curve\":[[100.0,0.7]],\"loss_curve\":[[5.0,1.0]]}";

    @Test
    void studentsStoredByEarlierVersionsAreReusedAndStoredAlike() throws Exception {
        Path file = tmp.resolve("students/t-VkD-s1.json");
        Files.createDirectories(file.getParent());
        Files.writeString(file, STORED_BY_EARLIER_VERSION);
        StudyStore store = new StudyStore(tmp);
        StudentState s = new StudentState(new Experiment("VkD", 1, List.of("--alpha", "1")), "t-VkD-s1");
        assertThat(store.restore(s)).isTrue();
        assertThat(s.finalAccuracy()).isEqualTo(0.85);
        assertThat(s.wallSeconds()).isCloseTo(2.5, within(1e-9));
        assertThat(s.evalCurve()).containsExactly(new double[] {100, 0.7});
        assertThat(s.lossCurve()).containsExactly(new double[] {5, 1.0});

        Files.delete(file);
        store.save(s);
        assertThat(Files.readString(file)).as("same fields, same order").isEqualTo(STORED_BY_EARLIER_VERSION);
    }

    @Test
    void reportComparesTheVkdRowChosenOnValidationWithPairedIntervals() throws Exception {
        List<StudyRow> rows = StudyRow.all().stream()
                .filter(r -> List.of("alone", "linear", "logit", "VkD", "VkD-batch").contains(r.id())).toList();
        Map<String, List<StudentState>> students = new LinkedHashMap<>();
        double[] base = {0.800, 0.805, 0.798, 0.802, 0.801};
        Map<String, Double> gain = Map.of("alone", 0.0, "linear", 0.002, "logit", 0.001, "VkD", 0.015, "VkD-batch", 0.020);
        for (StudyRow r : rows) {
            List<StudentState> list = new ArrayList<>();
            for (int s = 1; s <= 5; s++) {
                list.add(student(r.id(), s, base[s - 1] + gain.get(r.id()) + 0.0005 * (s % 2), List.of()));
            }
            students.put(r.id(), list);
        }
        Map<StudyPlan.Key, StudyReport.Tuning> tuning = new LinkedHashMap<>();
        for (StudyRow r : rows) {
            // VkD-batch has the better test mean but VkD the better validation score: VkD is "best"
            double val = r.id().equals("VkD") ? 0.83 : 0.80;
            tuning.put(new StudyPlan.Key("vit", r.id()), new StudyReport.Tuning(r.tuned(), List.of("a", "b", "c"), List.of(0.1, val, 0.2), 1));
        }
        StudyReport.Cell cell = new StudyReport.Cell("vit", 1000, students);
        Path report = StudyReport.write(tmp.resolve("report"), new ReportSetup("kdstream study", "2026-12-07T04:00:00Z", "2 cores", "resnet", "data", "stream", "vit", Map.of()), rows, tuning,
                List.of(cell));

        String md = Files.readString(report);
        assertThat(md).contains("## vit student, 1000 training images", "| VkD (best by validation) | +1.50 [",
                "**met**: VkD − alone +1.50", "| alone | b | 5 |", "| − logit | − VkD |");
        assertThat(md.lines().filter(l -> l.startsWith("| VkD-batch | +")).findFirst().orElseThrow())
                .as("a VkD variant against VkD").endsWith(" | +0.50 [+0.50, +0.50] |");
        assertThat(tmp.resolve("report/accuracy-vit-n1000.png")).exists();
        assertThat(tmp.resolve("report/curves-vit-n1000.png")).exists();
        JsonNode json = new ObjectMapper().readTree(tmp.resolve("report/report.json").toFile());
        JsonNode vkd = json.at("/cells/0/rows/VkD");
        assertThat(json.at("/cells/0/best_vkd_by_validation").asText()).isEqualTo("VkD");
        assertThat(vkd.at("/paired_differences/alone/mean").asDouble()).isCloseTo(0.015, within(1e-9));
        assertThat(vkd.at("/paired_differences/linear/low").asDouble()).isPositive();
        assertThat(vkd.get("students")).hasSize(5);
        assertThat(vkd.at("/paired_differences/VkD").isMissingNode()).as("VkD against itself").isTrue();
        assertThat(json.at("/cells/0/rows/VkD-batch/paired_differences/VkD/mean").asDouble())
                .isCloseTo(0.005, within(1e-9));
    }

    @Test
    void theTorchScriptTwinRowTrainsFromVkdsOwnStream() {
        StudyRow ts = StudyRow.known().stream().filter(r -> r.id().equals("VkD-ts")).findFirst().orElseThrow();
        StudyRow vkd = StudyRow.all().stream().filter(r -> r.id().equals("VkD")).findFirst().orElseThrow();
        assertThat(ts.torchScript()).isTrue();
        assertThat(vkd.torchScript()).isFalse();
        assertThat(ts.stream()).as("the same teacher pass as VkD: paired on one stream").isEqualTo(vkd.stream());
        assertThat(ts.args(ts.candidates().get(0), "cnn", StudyRow.DEFAULT_LR))
                .as("the objective is VkD's").isEqualTo(vkd.args(vkd.candidates().get(0), "cnn", StudyRow.DEFAULT_LR));
        assertThat(StudyRow.all()).as("not in the default rows").noneMatch(StudyRow::torchScript);
    }

    @Test
    void tuningChoosesTheBestValidationCandidateAndTiesKeepTheFirst() {
        StudyRow row = StudyRow.all().stream().filter(r -> r.id().equals("VkD")).findFirst().orElseThrow();
        // candidates in order alpha=2, 1, 4: a tie between 1 and 4 keeps 1
        List<StudentState> tuned = List.of(student("VkD alpha=2", 101, 0.80, List.of()),
                student("VkD alpha=4", 101, 0.82, List.of()), student("VkD alpha=1", 101, 0.82, List.of()));
        StudyReport.Tuning t = StudyReport.Tuning.choose(row, tuned);
        assertThat(t.chosenLabel()).isEqualTo("alpha=1");
        assertThat(StudyReport.Tuning.choose(row, List.of()).chosen()).as("no tuning: first candidate").isZero();
        assertThat(StudyRow.all()).allSatisfy(r -> assertThat(r.candidates()).as(r.id()).hasSize(3));
        // the ViT's embedding is layer-normalized already (vit-pool's is a mean of normalized tokens,
        // distilled as the official code does); a CNN's is standardized before the rotation
        for (String vit : List.of("vit", "vit-pool")) {
            assertThat(row.args(row.candidates().get(0), vit, StudyRow.DEFAULT_LR)).as(vit).containsSequence("--student-norm", "none")
                    .containsSequence("--projection", "matrix_exp");
        }
        assertThat(row.args(row.candidates().get(0), "cnn", StudyRow.DEFAULT_LR)).containsSequence("--student-norm", "layer");
    }

    @Test
    void anAugmentationOtherThanFlipNamesItsOwnStreamsAndStudents() {
        // flip adds nothing, so a study stored before --augment existed resumes under the same names
        assertThat(StudyPlan.augmentTag("flip")).isEmpty();
        assertThat(StudyPlan.augmentTag("crop+flip")).isEqualTo("-acropflip");
        assertThat(StudyPlan.augmentTag("crop:2+flip+erase")).isEqualTo("-acrop2fliperase")
                .isNotEqualTo(StudyPlan.augmentTag("crop+flip"));
    }

    @Test
    void vkdBatchPlusLogitCombinesTheBatchStreamWithLogitDistillation() {
        StudyRow row = StudyRow.all().stream().filter(r -> r.id().equals("VkD-batch+logit")).findFirst().orElseThrow();
        assertThat(row.teacherNorm()).isEqualTo("batch");
        assertThat(row.vkd()).isTrue();
        for (StudyRow.Candidate c : row.candidates()) {
            assertThat(row.args(c, "vit", StudyRow.DEFAULT_LR)).as(c.label()).containsSequence("--alpha", "4")
                    .containsSequence("--projection", "matrix_exp").contains("--gamma").doesNotContainSequence("--gamma", "0");
        }
    }

    @Test
    void theLearningRateChosenOnTheAloneRowIsWhatEveryOtherRowTrainsWith() {
        List<StudyRow> rows = StudyRow.all();
        assertThat(rows).filteredOn(StudyRow::tunesLearningRate).extracting(StudyRow::id).containsExactly("alone");
        StudyRow alone = rows.get(0);
        StudyReport.Tuning t = StudyReport.Tuning.choose(alone, List.of(student("alone lr=0.002", 101, 0.79, List.of()),
                student("alone lr=0.004", 101, 0.81, List.of()), student("alone lr=0.008", 101, 0.80, List.of())));
        String lr = StudyRow.learningRate(alone.candidates().get(t.chosen()));
        assertThat(lr).isEqualTo("0.004");
        for (StudyRow r : rows.subList(1, rows.size())) {
            for (StudyRow.Candidate c : r.candidates()) {
                assertThat(r.args(c, "cnn", lr)).as(r.id() + " " + c.label()).containsSequence("--lr", "0.004");
                // the default stays implicit: students stored before the rate was shared keep matching
                assertThat(r.args(c, "cnn", StudyRow.DEFAULT_LR)).as(r.id()).doesNotContain("--lr");
            }
        }
        // alone's own candidates keep their rate whatever is passed
        assertThat(alone.args(alone.candidates().get(0), "cnn", "0.004")).containsSequence("--lr", "0.002")
                .doesNotContain("0.004");
    }

    private static StudentState student(String variant, int seed, double accuracy, List<String> args) {
        return student(variant, seed, accuracy, args, 0, List.of());
    }

    /** A student that trained 10 of 10 batches in 2.5 s and exited {@code exitCode}. */
    private static StudentState student(String variant, int seed, double accuracy, List<String> args, int exitCode,
                                        List<double[]> evalCurve) {
        String group = "t-" + variant.replace(' ', '_') + "-s" + seed;
        StudentState s = new StudentState(new Experiment(variant, seed, args), group);
        s.restore(new StudentSummary(group, variant, seed, args, accuracy, 10, 10, exitCode, 2.5, 0, evalCurve,
                List.<double[]>of(new double[] {5, 1.0}), List.<double[]>of(new double[] {5, 0.8})));
        return s;
    }

    @Test
    void issue28RowsStreamTheirOwnDtypeAndNormalizationWhileF16RowsKeepTheirRunNames() {
        assertThat(StudyRow.all()).extracting(StudyRow::id).contains("VkD-whiten", "VkD-whiten-cal")
                .doesNotContain("VkD-i8");
        assertThat(StudyRow.all()).filteredOn(r -> r.id().equals("VkD-batch")).singleElement()
                .satisfies(r -> assertThat(r.stream()).isEqualTo("batch"));
        assertThat(StudyRow.known()).filteredOn(r -> r.id().startsWith("VkD-whiten")).extracting(StudyRow::stream)
                .containsExactly("whiten-batch", "whiten-cal");
        assertThat(StudyRow.optional()).extracting(StudyRow::stream)
                .containsExactly("layer-f32", "layer-bf16", "layer-i8", "layer");
        assertThat(StudyRow.optional()).allSatisfy(r -> assertThat(r.candidates()).hasSize(3));
    }
}
