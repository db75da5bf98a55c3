package io.kdstream.experiment;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import javax.imageio.ImageIO;

/**
 * {@code curves.png}: test accuracy and training cross-entropy against the training step, one line per
 * student, one colour per variant, labelled axes with round ticks (the demo's report, and the study's
 * per architecture and subset).
 */
public final class CurveChart {

    private static final Color[] COLORS = {new Color(0x7f7f7f), new Color(0x1f77b4), new Color(0xff7f0e),
            new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd)};

    private CurveChart() {
    }

    /** Writes the two panels and a legend of the variants to {@code file} (PNG). */
    public static void write(Path file, List<StudentState> students) throws IOException {
        int w = 1200;
        int h = 500;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        List<String> variants = students.stream().map(s -> s.experiment().variant()).distinct().toList();
        panel(g, new Rectangle(80, 40, 480, 360), new Axes("test accuracy vs training step", "test accuracy (%)", 100),
                students, StudentState::evalCurve, variants);
        // cross-entropy compares across variants; the total adds each variant's own objectives. Students
        // stored before the cross-entropy was recorded have only the total
        boolean ce = students.stream().anyMatch(s -> !s.ceCurve().isEmpty());
        panel(g, new Rectangle(680, 40, 480, 360), ce
                        ? new Axes("training cross-entropy vs training step", "cross-entropy", 1)
                        : new Axes("training loss (total) vs training step", "total loss", 1),
                students, ce ? StudentState::ceCurve : StudentState::lossCurve, variants);
        int x = 80;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        for (int i = 0; i < variants.size(); i++) {
            g.setColor(COLORS[i % COLORS.length]);
            g.fillRect(x, 470, 18, 10);
            g.setColor(Color.BLACK);
            g.drawString(variants.get(i), x + 24, 480);
            x += 120;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    /** A panel's title, y-axis label, and the factor its values are shown in (100: fractions as percent). */
    private record Axes(String title, String yLabel, double scale) {
    }

    /** One chart of {@code curve} per student in {@code area} of the image. */
    private static void panel(Graphics2D g, Rectangle area, Axes axes, List<StudentState> students,
                              Function<StudentState, List<double[]>> curve, List<String> variants) {
        int x0 = area.x;
        int y0 = area.y;
        int pw = area.width;
        int ph = area.height;
        double maxX = 1;
        double minY = Double.MAX_VALUE;
        double maxY = -Double.MAX_VALUE;
        for (StudentState s : students) {
            for (double[] p : curve.apply(s)) {
                if (Double.isFinite(p[1])) {
                    maxX = Math.max(maxX, p[0]);
                    minY = Math.min(minY, p[1]);
                    maxY = Math.max(maxY, p[1]);
                }
            }
        }
        if (minY > maxY) {
            minY = 0;
            maxY = 1;
        }
        double pad = (maxY - minY) * 0.05 + 1e-9;
        minY -= pad;
        maxY += pad;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(axes.title(), x0, y0 - 12);
        g.drawRect(x0, y0, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        double[] yTicks = ticks(minY * axes.scale(), maxY * axes.scale(), 5);
        for (double t : yTicks) {
            int y = py(t / axes.scale(), minY, maxY, y0, ph);
            g.setColor(new Color(0xdddddd));
            g.drawLine(x0 + 1, y, x0 + pw - 1, y);
            g.setColor(Color.DARK_GRAY);
            String label = label(t, yTicks);
            g.drawString(label, x0 - 6 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        double[] xTicks = ticks(0, maxX, 5);
        for (double t : xTicks) {
            int x = px(t, maxX, x0, pw);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(x, y0 + ph, x, y0 + ph + 4);
            String label = label(t, xTicks);
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, y0 + ph + 16);
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(Color.BLACK);
        String xLabel = "training step";
        g.drawString(xLabel, x0 + (pw - g.getFontMetrics().stringWidth(xLabel)) / 2, y0 + ph + 34);
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        rotated.drawString(axes.yLabel(), -(y0 + (ph + g.getFontMetrics().stringWidth(axes.yLabel())) / 2), x0 - 50);
        rotated.dispose();
        g.setStroke(new BasicStroke(1.6f));
        for (StudentState s : students) {
            g.setColor(COLORS[variants.indexOf(s.experiment().variant()) % COLORS.length]);
            double[] prev = null;
            for (double[] p : curve.apply(s)) {
                if (!Double.isFinite(p[1])) {
                    continue;
                }
                int x = px(p[0], maxX, x0, pw);
                int y = py(p[1], minY, maxY, y0, ph);
                if (prev != null) {
                    g.drawLine(px(prev[0], maxX, x0, pw), py(prev[1], minY, maxY, y0, ph), x, y);
                }
                g.fillOval(x - 3, y - 3, 6, 6); // a single evaluation is a point, not a line
                prev = p;
            }
        }
    }

    /**
     * About {@code target} round tick values (1, 2 or 5 times a power of ten apart) inside [min, max],
     * so an axis reads 54, 56, 58 rather than 0.533, 0.609.
     */
    static double[] ticks(double min, double max, int target) {
        double raw = (max - min) / Math.max(1, target);
        if (!(raw > 0)) {
            return new double[] {min};
        }
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / magnitude;
        double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
        double first = Math.ceil(min / step - 1e-9) * step;
        int n = (int) Math.floor((max - first) / step + 1e-9) + 1;
        double[] out = new double[Math.max(0, n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = first + i * step;
        }
        return out;
    }

    /** A tick's label with as many decimals as the ticks' spacing needs, no more. */
    static String label(double value, double[] ticks) {
        double step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.abs(value);
        int decimals = step > 0 ? Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9)) : 0;
        return String.format(Locale.ROOT, "%." + decimals + "f", Math.abs(value) < step * 1e-6 ? 0.0 : value);
    }

    private static int px(double v, double max, int x0, int w) {
        return x0 + (int) (w * v / max);
    }

    private static int py(double v, double min, double max, int y0, int h) {
        return y0 + h - (int) (h * (v - min) / (max - min));
    }
}
