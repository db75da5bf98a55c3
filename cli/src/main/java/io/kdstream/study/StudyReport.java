package io.kdstream.study;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.kdstream.experiment.CurveChart;
import io.kdstream.experiment.ReportSetup;
import io.kdstream.experiment.StudentState;

/**
 * The study's results: {@code report.md}, {@code report.json}, and per (student architecture,
 * training subset) {@code accuracy-<arch>-n<limit>.png} (every seed's test accuracy per row) and
 * {@code curves-<arch>-n<limit>.png} (accuracy and loss curves, as in the demo).
 */
final class StudyReport {

    /** The rows VkD is compared with, and the VkD rows. */
    static final List<String> BASELINES = List.of("alone", "linear", "logit");

    /** The reference of VkD's variants: layer-normalized f16 features, a zoo student. */
    static final String VKD = "VkD";

    /** A row's tuning: validation accuracy of each candidate and the chosen one. */
    record Tuning(String tuned, List<String> labels, List<Double> validation, int chosen) {
        static Tuning choose(StudyRow row, List<StudentState> students) {
            List<String> labels = row.candidates().stream().map(StudyRow.Candidate::label).toList();
            List<Double> acc = new ArrayList<>();
            int best = -1;
            for (int c = 0; c < labels.size(); c++) {
                String variant = row.id() + " " + labels.get(c);
                double mean = students.stream().filter(s -> s.experiment().variant().equals(variant))
                        .mapToDouble(StudentState::finalAccuracy).filter(Double::isFinite).average().orElse(Double.NaN);
                acc.add(mean);
                if (Double.isFinite(mean) && (best < 0 || mean > acc.get(best))) {
                    best = c; // ties keep the earlier candidate
                }
            }
            best = Math.max(best, 0); // nothing finished (or no tuning): the first candidate
            return new Tuning(row.tuned(), labels, acc, best);
        }

        String chosenLabel() {
            return labels.get(chosen);
        }

        double chosenValidation() {
            return validation.get(chosen);
        }
    }

    /** One architecture on one training subset: the final students of every row. */
    record Cell(String arch, int limit, Map<String, List<StudentState>> students) {
        List<Double> accuracies(String row) {
            return students.get(row).stream().map(StudentState::finalAccuracy).toList();
        }

        boolean complete(String row) {
            return students.containsKey(row) && students.get(row).stream().allMatch(StudentState::succeeded);
        }

        String key() {
            return arch + "-n" + limit;
        }
    }

    private static final Color[] COLORS = {new Color(0x7f7f7f), new Color(0x1f77b4), new Color(0xff7f0e),
            new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b)};

    private StudyReport() {
    }

    static Path write(Path dir, ReportSetup setup, List<StudyRow> rows, Map<StudyPlan.Key, Tuning> tuning,
                      List<Cell> cells) throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder("# kdstream distillation study\n\n## Setup\n\n");
        setup.toMap().forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("setup", setup.toMap());
        List<Map<String, Object>> jsonCells = new ArrayList<>();
        List<String> verdicts = new ArrayList<>();
        for (Cell cell : cells) {
            md.append("\n## ").append(cell.arch()).append(" student, ").append(cell.limit()).append(" training images\n\n");
            md.append(table(cell, rows, tuning));
            md.append("\n").append(differences(cell, rows, tuning, verdicts));
            md.append("\n![test accuracy per seed](accuracy-").append(cell.key()).append(".png)\n");
            md.append("![curves](curves-").append(cell.key()).append(".png)\n");
            writePoints(dir.resolve("accuracy-" + cell.key() + ".png"), cell, rows);
            List<StudentState> all = cell.students().values().stream().flatMap(List::stream)
                    .filter(StudentState::succeeded).toList();
            CurveChart.write(dir.resolve("curves-" + cell.key() + ".png"), all);
            jsonCells.add(cellJson(cell, rows, tuning));
        }
        md.append("\n## Target\n\nBest VkD row (by validation accuracy in tuning) at least 1.0 point above both the "
                + "student alone and the linear projector, with the lower end of each paired 95% interval above 0:\n\n");
        verdicts.forEach(v -> md.append("- ").append(v).append('\n'));
        md.append("\n## Tuning (validation split, never the test split)\n\n| student | row | tuned | candidates: validation accuracy | chosen |\n|---|---|---|---|---|\n");
        Map<String, Object> jsonTuning = new LinkedHashMap<>();
        tuning.forEach((k, t) -> {
            StringBuilder cands = new StringBuilder();
            for (int i = 0; i < t.labels().size(); i++) {
                cands.append(i == 0 ? "" : ", ").append(t.labels().get(i)).append(": ").append(pct(t.validation().get(i)));
            }
            md.append("| ").append(k.arch()).append(" | ").append(k.row()).append(" | ").append(t.tuned()).append(" | ")
                    .append(cands).append(" | ").append(t.chosenLabel()).append(" |\n");
            jsonTuning.put(k.arch() + "/" + k.row(), t);
        });
        json.put("tuning", jsonTuning);
        json.put("cells", jsonCells);
        Files.writeString(dir.resolve("report.md"), md, StandardCharsets.UTF_8);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(), json);
        return dir.resolve("report.md");
    }

    static String table(Cell cell, List<StudyRow> rows, Map<StudyPlan.Key, Tuning> tuning) {
        StringBuilder t = new StringBuilder("| row | setting (tuned) | seeds | test accuracy (mean ± std) | per seed | wall / student |\n");
        t.append("|---|---|---|---|---|---|\n");
        for (StudyRow r : rows) {
            List<StudentState> list = cell.students().get(r.id());
            if (list == null) {
                continue;
            }
            List<Double> acc = list.stream().map(StudentState::finalAccuracy).filter(Double::isFinite).toList();
            double mean = acc.stream().mapToDouble(d -> d).average().orElse(Double.NaN);
            double sd = acc.size() < 2 ? 0 : Math.sqrt(acc.stream().mapToDouble(d -> (d - mean) * (d - mean)).sum() / (acc.size() - 1));
            Tuning tu = tuning.get(new StudyPlan.Key(cell.arch(), r.id()));
            if (acc.isEmpty()) {
                t.append("| ").append(r.id()).append(" | ").append(tu == null ? "" : tu.chosenLabel())
                        .append(" | 0 | not finished | | |\n");
                continue;
            }
            t.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f%% ± %.2f | %s | %.0f s |%n", r.id(),
                    tu == null ? "" : tu.chosenLabel(), acc.size(), 100 * mean, 100 * sd,
                    String.join(" ", acc.stream().map(a -> String.format(Locale.ROOT, "%.2f", 100 * a)).toList()),
                    list.stream().mapToDouble(StudentState::wallSeconds).average().orElse(0)));
        }
        return t.toString();
    }

    static String differences(Cell cell, List<StudyRow> rows, Map<StudyPlan.Key, Tuning> tuning, List<String> verdicts) {
        // − VkD: what a variant of VkD (feature dtype, whitening, a TorchScript student) costs against it
        boolean vkdColumn = cell.complete(VKD) && rows.stream().anyMatch(r -> r.vkd() && !r.id().equals(VKD));
        StringBuilder t = new StringBuilder("Paired differences (same seeds), points, mean [95% CI]:\n\n| VkD row | − alone | − linear | − logit |"
                + (vkdColumn ? " − VkD |" : "") + "\n|---|---|---|---|" + (vkdColumn ? "---|" : "") + "\n");
        String best = bestVkd(cell, rows, tuning);
        for (StudyRow r : rows) {
            if (!r.vkd() || !cell.complete(r.id())) {
                continue;
            }
            t.append("| ").append(r.id()).append(r.id().equals(best) ? " (best by validation)" : "");
            for (String b : BASELINES) {
                t.append(" | ").append(cell.complete(b) ? format(PairedDifference.of(cell.accuracies(r.id()), cell.accuracies(b))) : "n/a");
            }
            if (vkdColumn) {
                t.append(" | ").append(r.id().equals(VKD) ? "" : format(PairedDifference.of(cell.accuracies(r.id()),
                        cell.accuracies(VKD))));
            }
            t.append(" |\n");
        }
        if (best != null && cell.complete("alone") && cell.complete("linear")) {
            PairedDifference a = PairedDifference.of(cell.accuracies(best), cell.accuracies("alone"));
            PairedDifference l = PairedDifference.of(cell.accuracies(best), cell.accuracies("linear"));
            boolean met = a.mean() >= 0.01 && l.mean() >= 0.01 && a.positive() && l.positive();
            verdicts.add(String.format(Locale.ROOT, "%s student, %d images: %s: %s − alone %s, − linear %s", cell.arch(),
                    cell.limit(), met ? "**met**" : "**not met**", best, format(a), format(l)));
        } else {
            verdicts.add(cell.arch() + " student, " + cell.limit() + " images: not evaluated (rows missing)");
        }
        return t.toString();
    }

    /** The VkD row with the best validation accuracy in tuning (not the best test mean: that would be selection on test). */
    static String bestVkd(Cell cell, List<StudyRow> rows, Map<StudyPlan.Key, Tuning> tuning) {
        String best = null;
        double bestVal = Double.NEGATIVE_INFINITY;
        for (StudyRow r : rows) {
            Tuning t = tuning.get(new StudyPlan.Key(cell.arch(), r.id()));
            if (r.vkd() && cell.complete(r.id()) && t != null) {
                double v = Double.isFinite(t.chosenValidation()) ? t.chosenValidation() : Double.NEGATIVE_INFINITY / 2;
                if (best == null || v > bestVal) {
                    best = r.id();
                    bestVal = v;
                }
            }
        }
        return best;
    }

    static String format(PairedDifference d) {
        return d.n() < 2 ? String.format(Locale.ROOT, "%+.2f (1 seed)", 100 * d.mean())
                : String.format(Locale.ROOT, "%+.2f [%+.2f, %+.2f]", 100 * d.mean(), 100 * d.low(), 100 * d.high());
    }

    private static Map<String, Object> cellJson(Cell cell, List<StudyRow> rows, Map<StudyPlan.Key, Tuning> tuning) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("arch", cell.arch());
        m.put("train_limit", cell.limit());
        Map<String, Object> rs = new LinkedHashMap<>();
        for (StudyRow r : rows) {
            List<StudentState> list = cell.students().get(r.id());
            if (list == null) {
                continue;
            }
            Map<String, Object> row = new LinkedHashMap<>();
            Tuning t = tuning.get(new StudyPlan.Key(cell.arch(), r.id()));
            row.put("setting", t == null ? null : t.chosenLabel());
            row.put("args", list.get(0).experiment().objectiveArgs());
            row.put("students", list.stream().map(StudentState::summary).toList());
            if (r.vkd() && cell.complete(r.id())) {
                Map<String, Object> diffs = new LinkedHashMap<>();
                for (String b : BASELINES) {
                    if (cell.complete(b)) {
                        diffs.put(b, PairedDifference.of(cell.accuracies(r.id()), cell.accuracies(b)));
                    }
                }
                if (!r.id().equals(VKD) && cell.complete(VKD)) {
                    diffs.put(VKD, PairedDifference.of(cell.accuracies(r.id()), cell.accuracies(VKD)));
                }
                row.put("paired_differences", diffs);
            }
            rs.put(r.id(), row);
        }
        m.put("rows", rs);
        m.put("best_vkd_by_validation", bestVkd(cell, rows, tuning));
        return m;
    }

    /** Every seed's test accuracy as a point per row, with the row mean as a bar. */
    static void writePoints(Path file, Cell cell, List<StudyRow> rows) throws IOException {
        List<StudyRow> present = rows.stream().filter(r -> cell.students().containsKey(r.id())).toList();
        int w = Math.max(560, 140 + 110 * present.size());
        int h = 420;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (StudyRow r : present) {
            for (double a : cell.accuracies(r.id())) {
                if (Double.isFinite(a)) {
                    min = Math.min(min, a);
                    max = Math.max(max, a);
                }
            }
        }
        if (min > max) {
            min = 0;
            max = 1;
        }
        double pad = (max - min) * 0.1 + 1e-3;
        min -= pad;
        max += pad;
        int x0 = 80;
        int y0 = 40;
        int pw = w - 120;
        int ph = 300;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("test accuracy per seed: " + cell.arch() + ", " + cell.limit() + " images", x0, y0 - 14);
        g.drawRect(x0, y0, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 4; i++) {
            double v = min + (max - min) * i / 4;
            int y = y0 + ph - (int) (ph * i / 4.0);
            g.setColor(new Color(0xdddddd));
            g.drawLine(x0 + 1, y, x0 + pw - 1, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.1f%%", 100 * v), x0 - 50, y + 4);
        }
        int slot = pw / Math.max(1, present.size());
        for (int i = 0; i < present.size(); i++) {
            StudyRow r = present.get(i);
            int cx = x0 + slot * i + slot / 2;
            List<Double> acc = cell.accuracies(r.id()).stream().filter(Double::isFinite).toList();
            g.setColor(COLORS[i % COLORS.length]);
            for (int k = 0; k < acc.size(); k++) {
                int y = y0 + ph - (int) (ph * (acc.get(k) - min) / (max - min));
                int dx = (k - acc.size() / 2) * 7; // spread the seeds so equal values stay visible
                g.fillOval(cx + dx - 4, y - 4, 8, 8);
            }
            if (!acc.isEmpty()) {
                double mean = acc.stream().mapToDouble(d -> d).average().orElse(0);
                int y = y0 + ph - (int) (ph * (mean - min) / (max - min));
                g.setStroke(new BasicStroke(2.5f));
                g.drawLine(cx - 30, y, cx + 30, y);
            }
            g.setColor(Color.BLACK);
            g.drawString(r.id(), cx - 30, y0 + ph + 20);
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static String pct(Double d) {
        return d == null || !Double.isFinite(d) ? "n/a" : String.format(Locale.ROOT, "%.2f%%", 100 * d);
    }
}
