package io.kdstream.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import org.jline.terminal.Size;

import io.kdstream.console.Terminal;
import io.kdstream.experiment.StudentState;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/**
 * The combined live view: one line for the teacher and one per student (batches, loss, samples/s,
 * ETA). On a terminal it redraws in place every second, its lines fitted to the terminal's width
 * and its rows to its height ({@link Terminal#size}): a line that wrapped, or a row that scrolled
 * off, would make the cursor move up too few rows and smear the view. Otherwise (a file, a pipe, a
 * container log) it prints plain lines every 15 s: the teacher, the students in training and a
 * count of the rest.
 */
final class ProgressBoard {

    private static final int BAR = 20; // cells of a progress bar on a wide terminal
    private static final int MIN_BAR = 5; // below this a bar says too little: none is drawn

    private final Supplier<TeacherProgress> teacher; // the teacher's last progress line, null before the first
    private final List<StudentState> students;
    private final boolean tty = Terminal.isInteractive();
    private final long start = System.nanoTime();
    private Thread thread;
    private volatile boolean running;
    private int drawnLines;

    ProgressBoard(Supplier<TeacherProgress> teacher, List<StudentState> students) {
        this.teacher = teacher;
        this.students = students;
    }

    void start() {
        running = true;
        thread = new Thread(() -> {
            while (running) {
                draw(tty);
                try {
                    Thread.sleep(tty ? 1000 : 15_000); // refresh period of the view
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "kdstream-demo-progress");
        thread.setDaemon(true);
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(2000);
        draw(true);
    }

    /** Draws the view; {@code all} includes students waiting or done (always on a terminal). */
    private synchronized void draw(boolean all) {
        String out;
        if (tty) {
            Size size = Terminal.size(); // at every frame: it follows a resize
            int width = size.getColumns() > 0 ? size.getColumns() : 80;
            int height = size.getRows() > 0 ? size.getRows() : 24;
            List<String> lines = lines(all, width);
            out = frame(lines, drawnLines, width, height);
            drawnLines = rows(lines, height);
        } else {
            out = String.join("\n", lines(all, Integer.MAX_VALUE)) + "\n";
        }
        System.out.print(out);
        System.out.flush();
    }

    /**
     * A frame for a terminal of {@code width} columns and {@code height} rows that overwrites the
     * previous one of {@code previousRows} rows: cursor up that many rows, then each line cut to
     * {@code width - 1} columns (a full-width line wraps early on some terminals) and cleared to
     * its end, at most {@code height - 1} rows (the cursor cannot move above the screen's top).
     */
    static String frame(List<String> lines, int previousRows, int width, int height) {
        StringBuilder out = new StringBuilder();
        if (previousRows > 0) {
            out.append("\u001b[").append(previousRows).append('A');
        }
        int rows = rows(lines, height);
        for (int i = 0; i < rows; i++) {
            String l = lines.get(i);
            if (i == rows - 1 && rows < lines.size()) {
                l = "... " + (lines.size() - rows + 1) + " more rows: enlarge the terminal";
            }
            out.append(l, 0, Math.min(l.length(), Math.max(0, width - 1))).append("\u001b[K\n");
        }
        return out.toString();
    }

    /** How many rows {@link #frame} draws of {@code lines}. */
    static int rows(List<String> lines, int height) {
        return Math.min(lines.size(), Math.max(1, height - 1));
    }

    /** The view's lines at full width; {@code all} includes students waiting or done. */
    List<String> lines(boolean all) {
        return lines(all, Integer.MAX_VALUE);
    }

    /**
     * The view's lines for {@code width} columns; {@code all} includes students waiting or done. The
     * progress bars take what room the figures leave (up to {@value #BAR} cells), none below
     * {@value #MIN_BAR}; {@link #frame} cuts whatever still does not fit.
     */
    List<String> lines(boolean all, int width) {
        List<String[]> rows = new ArrayList<>(); // name, then the figures after the bar
        List<long[]> progress = new ArrayList<>();
        TeacherProgress t = teacher.get();
        long tb = t == null ? 0 : t.batches();
        long tt = t == null ? 0 : t.total();
        double sinceStart = (System.nanoTime() - start) / 1e9;
        String teacherEta = tb > 0 && tt > tb ? String.format(Locale.ROOT, "  ETA %3.0f s", sinceStart / tb * (tt - tb)) : "";
        rows.add(new String[] {"teacher-producer", String.format(Locale.ROOT, "%5d/%-5d batches  %s%s", tb, tt,
                t == null ? "starting" : String.format(Locale.ROOT, "forward %.0f s", t.forwardSeconds()),
                teacherEta)});
        progress.add(new long[] {tb, tt});
        int done = 0;
        int waiting = 0;
        for (StudentState s : students) {
            if (!all && (s.hasEnded() || !s.hasStarted())) {
                done += s.hasEnded() ? 1 : 0;
                waiting += s.hasStarted() ? 0 : 1;
                continue;
            }
            double elapsed = s.wallSeconds();
            long trained = s.trained();
            long total = s.total();
            double sps = s.samplesPerSecond();
            String eta = trained > 0 && total > trained
                    ? String.format(Locale.ROOT, "ETA %3.0f s", elapsed / trained * (total - trained)) : "";
            // cross-entropy, not the total: each variant's total adds other objectives, so rows would not compare;
            // a student that has not reported yet shows "-", not 0/0
            rows.add(new String[] {s.experiment().variant() + " seed " + s.experiment().seed(),
                    String.format(Locale.ROOT, "%5s/%-5s ce %6s %5s img/s lag %4d %-8s %s",
                            total > 0 ? Long.toString(trained) : "-", total > 0 ? Long.toString(total) : "-",
                            figure(s.ce(), "%.3f"), figure(sps > 0 ? sps : Double.NaN, "%.0f"),
                            Math.max(0, tb - trained), s.status(), eta).stripTrailing()});
            progress.add(new long[] {trained, total});
        }
        int name = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        int widest = rows.stream().mapToInt(r -> name + 1 + r[1].length()).max().orElse(0);
        // room left on the widest line for " [bar]" within width - 1 columns
        int bar = (int) Math.min(BAR, Math.max(0L, (long) width - 1 - widest - 3));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            String drawn = bar < MIN_BAR ? "" : bar(progress.get(i)[0], progress.get(i)[1], bar) + " ";
            lines.add(String.format(Locale.ROOT, "%-" + name + "s ", rows.get(i)[0]) + drawn + rows.get(i)[1]);
        }
        lines.add(all ? String.format(Locale.ROOT, "elapsed %.0f s", sinceStart)
                : String.format(Locale.ROOT, "elapsed %.0f s, students done %d, waiting %d, of %d",
                        sinceStart, done, waiting, students.size()));
        return lines;
    }

    /** A figure, or "-" while there is none yet (a student's loss is NaN before its first progress line). */
    static String figure(double value, String format) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, format, value) : "-";
    }

    private static String bar(long done, long total, int width) {
        int filled = total <= 0 ? 0 : (int) Math.min(width, width * done / total);
        return "[" + "#".repeat(filled) + "-".repeat(width - filled) + "]";
    }
}
