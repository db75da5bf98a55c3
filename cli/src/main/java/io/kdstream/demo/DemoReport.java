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
import io.kdstream.study.PairedDifference;

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

    /**
     * VkD minus every other row, paired by seed (same initialization and stream), with the 95%
     * interval of the mean difference, as the study reports them: what the table's means cannot
     * tell, whether a gain is larger than the seed noise. Empty without a VkD row.
     */
    static Map<String, PairedDifference> pairedDifferences(List<StudentState> students) {
        Map<String, Map<Integer, Double>> byVariant = new LinkedHashMap<>();
        for (StudentState s : students) {
            if (s.succeeded() && Double.isFinite(s.finalAccuracy())) {
                byVariant.computeIfAbsent(s.experiment().variant(), k -> new LinkedHashMap<>())
                        .put(s.experiment().seed(), 100 * s.finalAccuracy());
            }
        }
        Map<String, PairedDifference> out = new LinkedHashMap<>();
        Map<Integer, Double> vkd = byVariant.get("VkD");
        if (vkd == null) {
            return out;
        }
        byVariant.forEach((variant, acc) -> {
            List<Integer> seeds = acc.keySet().stream().filter(vkd::containsKey).sorted().toList();
            if (!variant.equals("VkD") && !seeds.isEmpty()) {
                out.put(variant, PairedDifference.of(seeds.stream().map(vkd::get).toList(),
                        seeds.stream().map(acc::get).toList()));
            }
        });
        return out;
    }

    /** The paired differences as printed under the table. */
    static String differences(List<StudentState> students) {
        Map<String, PairedDifference> d = pairedDifferences(students);
        if (d.isEmpty()) {
            return "";
        }
        StringBuilder t = new StringBuilder("Paired differences (same seeds), points, mean [95% CI]:\n\n");
        t.append("| | ").append(String.join(" | ", d.keySet().stream().map(v -> "− " + v).toList())).append(" |\n");
        t.append("|---|").append("---|".repeat(d.size())).append('\n');
        t.append("| VkD |");
        d.values().forEach(p -> t.append(' ').append(p.n() < 2 ? String.format(Locale.ROOT, "%+.2f (1 seed: no interval)",
                p.mean()) : String.format(Locale.ROOT, "%+.2f [%+.2f, %+.2f]", p.mean(), p.low(), p.high())).append(" |"));
        t.append('\n');
        List<String> above = d.entrySet().stream().filter(e -> e.getValue().positive()).map(Map.Entry::getKey).toList();
        if (d.values().stream().allMatch(p -> p.n() < 2)) {
            return t.append("\nOne seed per row: no interval; --seeds 2 or more tells a gain from seed noise.\n").toString();
        }
        t.append('\n').append(above.size() == d.size()
                ? "VkD is ahead of every other row by more than the seed noise (each interval above 0)."
                : "Intervals that include 0 (" + String.join(", ", d.keySet().stream().filter(k -> !above.contains(k))
                        .toList()) + "): there the difference is within the seed noise of this run.").append('\n');
        return t.toString();
    }

    static Path write(Path dir, ReportSetup setup, List<StudentState> students, List<Row> rows)
            throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder("# kdstream distillation report\n\n");
        md.append("## Setup\n\n");
        setup.toMap().forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append("\n## Results\n\n").append(table(rows)).append('\n').append(differences(students)).append('\n');
        md.append("Rows: **alone** = cross-entropy only (`--alpha 0`); **logit** = + logit distillation; "
                + "**linear** = unconstrained linear projector + L2 feature loss (FitNet-style); **VkD** = orthogonal "
                + "projection (matrix_exp) and L2 loss against layer-normalized teacher features. Each row's arguments "
                + "are in report.json. Final accuracy is on the whole test split.\n\n");
        md.append("![test accuracy and training cross-entropy](curves.png)\n\n## Per student\n\n");
        md.append("| group | accuracy | trained / total batches | exit |\n|---|---|---|---|\n");
        for (StudentState s : students) {
            md.append(String.format(Locale.ROOT, "| %s | %.2f%% | %d / %d | %d |%n", s.group(), 100 * s.finalAccuracy(),
                    s.trained(), s.total(), s.exitCode()));
        }
        Files.writeString(dir.resolve("report.md"), md, StandardCharsets.UTF_8);

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("setup", setup.toMap());
        json.put("rows", rows);
        json.put("paired_differences_vkd_minus", pairedDifferences(students));
        json.put("students", students.stream().map(StudentState::summary).toList());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(), json);
        CurveChart.write(dir.resolve("curves.png"), students);
        return dir.resolve("report.md");
    }
}
