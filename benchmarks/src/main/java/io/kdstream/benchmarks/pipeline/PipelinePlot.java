package io.kdstream.benchmarks.pipeline;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The pipeline benchmark's figure ({@code docs/pipeline.png}): feed cost, the epoch time of one
 * student by how it gets its teacher, and the wall time of K students, from the numbers of the
 * same run that prints the table.
 */
final class PipelinePlot {

    private final DefaultCategoryDataset feed = new DefaultCategoryDataset();
    private final DefaultCategoryDataset epoch = new DefaultCategoryDataset();
    private final XYSeries online = new XYSeries("K online-KD runs");
    private final XYSeries streamed = new XYSeries("one teacher pass + K students");

    void feed(String student, double memoryFed, double kafkaFed) {
        feed.addValue(memoryFed, "fed from memory", student);
        feed.addValue(kafkaFed, "fed from Kafka", student);
    }

    void epoch(String how, double seconds) {
        epoch.addValue(seconds, "epoch", how);
    }

    void amortization(int k, double onlineWall, double streamedWall) {
        online.add(k, onlineWall);
        streamed.add(k, streamedWall);
    }

    void write(Path file) throws IOException {
        JFreeChart feedChart = ChartFactory.createBarChart("Feed cost: same student, same steps", null,
                "samples/s", feed, PlotOrientation.VERTICAL, true, false, false);
        JFreeChart epochChart = ChartFactory.createBarChart("Epoch of one cnn student", null,
                "seconds", epoch, PlotOrientation.HORIZONTAL, false, false, false);
        XYSeriesCollection k = new XYSeriesCollection();
        k.addSeries(online);
        k.addSeries(streamed);
        JFreeChart kChart = ChartFactory.createXYLineChart("Replay amortization: K students", "K students",
                "wall seconds", k, PlotOrientation.VERTICAL, true, false, false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        r.setSeriesStroke(0, new BasicStroke(2f));
        r.setSeriesStroke(1, new BasicStroke(2f));
        kChart.getXYPlot().setRenderer(r);

        kChart.getXYPlot().getDomainAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        epochChart.getCategoryPlot().getDomainAxis().setMaximumCategoryLabelWidthRatio(0.5f);

        List<JFreeChart> charts = List.of(feedChart, epochChart, kChart);
        int w = 520;
        int h = 400;
        BufferedImage img = new BufferedImage(w * charts.size(), h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), h);
        for (int i = 0; i < charts.size(); i++) {
            JFreeChart c = charts.get(i);
            c.setBackgroundPaint(Color.WHITE);
            c.getPlot().setBackgroundPaint(Color.WHITE);
            c.draw(g, new Rectangle2D.Double(i * w, 0, w, h));
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(img, "png", file.toFile());
    }
}
