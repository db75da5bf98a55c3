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
 * {@code curves.png}: test accuracy and training loss against the step, one line per student,
 * one colour per variant (the demo's report, and the study's per architecture and subset).
 */
public final class CurveChart {

    private static final Color[] COLORS = {new Color(0x7f7f7f), new Color(0x1f77b4), new Color(0xff7f0e),
            new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd)};

    private CurveChart() {
    }

    /** Writes the two panels and a legend of the variants to {@code file} (PNG). */
    public static void write(Path file, List<StudentState> students) throws IOException {
        int w = 1200;
        int h = 480;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        List<String> variants = students.stream().map(s -> s.experiment().variant()).distinct().toList();
        panel(g, new Rectangle(60, 40, 500, 360), "test accuracy vs step", students, StudentState::evalCurve, variants);
        panel(g, new Rectangle(660, 40, 500, 360), "training loss (total) vs step", students, StudentState::lossCurve, variants);
        int x = 60;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        for (int i = 0; i < variants.size(); i++) {
            g.setColor(COLORS[i % COLORS.length]);
            g.fillRect(x, 440, 18, 10);
            g.setColor(Color.BLACK);
            g.drawString(variants.get(i), x + 24, 450);
            x += 120;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    /** One chart of {@code curve} per student in {@code area} of the image. */
    private static void panel(Graphics2D g, Rectangle area, String title, List<StudentState> students,
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
        g.drawString(title, x0, y0 - 12);
        g.drawRect(x0, y0, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 4; i++) {
            double v = minY + (maxY - minY) * i / 4;
            int y = y0 + ph - (int) (ph * i / 4.0);
            g.setColor(new Color(0xdddddd));
            g.drawLine(x0 + 1, y, x0 + pw - 1, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.3f", v), x0 - 48, y + 4);
        }
        g.drawString("0", x0, y0 + ph + 14);
        g.drawString(String.format(Locale.ROOT, "%.0f", maxX), x0 + pw - 24, y0 + ph + 14);
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

    private static int px(double v, double max, int x0, int w) {
        return x0 + (int) (w * v / max);
    }

    private static int py(double v, double min, double max, int y0, int h) {
        return y0 + h - (int) (h * (v - min) / (max - min));
    }
}
