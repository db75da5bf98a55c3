package io.kdstream.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.kdstream.experiment.CurveChart;
import io.kdstream.experiment.ReportSetup;
import io.kdstream.experiment.StudentState;

/**
 * The demo's results: {@code report.md} (table and setup), {@code report.json} (the same numbers
 * for tools) and {@code curves.png} (test accuracy and training loss per student).
 */
final class DemoReport {

    /** One row of the table: a variant over its seeds. */
    record Row(String variant, int seeds, double meanAccuracy, double stdAccuracy, double meanWallSeconds,
               double meanSamplesPerSecond, List<Double> accuracies) {
    }

    private DemoReport() {
    }

    static List<Row> rows(List<StudentState> students) {
        Map<String, List<StudentState>> byVariant = new LinkedHashMap<>();
        for (StudentState s : students) {
            byVariant.computeIfAbsent(s.experiment().variant(), k -> new ArrayList<>()).add(s);
        }
        List<Row> rows = new ArrayList<>();
        byVariant.forEach((variant, list) -> {
            List<Double> acc = list.stream().map(StudentState::finalAccuracy).filter(Double::isFinite).toList();
            double mean = acc.stream().mapToDouble(d -> d).average().orElse(Double.NaN);
            double var = acc.stream().mapToDouble(d -> (d - mean) * (d - mean)).sum() / Math.max(1, acc.size() - 1);
            rows.add(new Row(variant, list.size(), mean, acc.size() > 1 ? Math.sqrt(var) : 0,
                    list.stream().mapToDouble(StudentState::wallSeconds).average().orElse(0),
                    list.stream().mapToDouble(StudentState::samplesPerSecond).average().orElse(0), acc));
        });
        return rows;
    }

    static String table(List<Row> rows) {
        StringBuilder t = new StringBuilder();
        t.append("| student | seeds | test accuracy (mean ± std) | wall time / student | samples/s |\n");
        t.append("|---|---|---|---|---|\n");
        for (Row r : rows) {
            t.append(String.format(Locale.ROOT, "| %s | %d | %.2f%% ± %.2f | %.0f s | %.0f |%n", r.variant(), r.seeds(),
                    100 * r.meanAccuracy(), 100 * r.stdAccuracy(), r.meanWallSeconds(), r.meanSamplesPerSecond()));
        }
        return t.toString();
    }

    static Path write(Path dir, ReportSetup setup, List<StudentState> students, List<Row> rows)
            throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder("# kdstream distillation report\n\n");
        md.append("## Setup\n\n");
        setup.toMap().forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append("\n## Results\n\n").append(table(rows)).append('\n');
        md.append("Rows: **alone** = cross-entropy only (`--alpha 0`); **logit** = + logit distillation "
                + "(`--gamma 0.5`, T=2); **linear** = unconstrained linear projector + L2 feature loss (FitNet-style); "
                + "**VkD** = standardized student embedding, orthogonal projection (matrix_exp) and L2 loss against "
                + "layer-normalized teacher features. Final accuracy is on the whole test split.\n\n");
        md.append("![test accuracy and training loss](curves.png)\n\n## Per student\n\n");
        md.append("| group | accuracy | trained / total batches | exit |\n|---|---|---|---|\n");
        for (StudentState s : students) {
            md.append(String.format(Locale.ROOT, "| %s | %.2f%% | %d / %d | %d |%n", s.group(), 100 * s.finalAccuracy(),
                    s.trained(), s.total(), s.exitCode()));
        }
        Files.writeString(dir.resolve("report.md"), md, StandardCharsets.UTF_8);

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("setup", setup.toMap());
        json.put("rows", rows);
        json.put("students", students.stream().map(StudentState::summary).toList());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(), json);
        CurveChart.write(dir.resolve("curves.png"), students);
        return dir.resolve("report.md");
    }
}
