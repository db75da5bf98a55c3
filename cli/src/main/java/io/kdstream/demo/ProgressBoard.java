package io.kdstream.demo;

import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import io.kdstream.console.Terminal;
import io.kdstream.experiment.StudentState;
import io.kdstream.progress.ProgressEvent.TeacherProgress;

/**
 * The combined live view: one line for the teacher and one per student (batches, loss, samples/s,
 * ETA). On a terminal it redraws in place every second; otherwise (a file, a pipe, a container log)
 * it prints plain lines every 15 s: the teacher, the students in training and a count of the rest.
 */
final class ProgressBoard {

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
        StringBuilder out = new StringBuilder();
        if (tty && drawnLines > 0) {
            out.append("\u001b[").append(drawnLines).append("A"); // cursor up to redraw in place
        }
        List<String> lines = lines(all);
        for (String l : lines) {
            out.append(l).append(tty ? "\u001b[K\n" : "\n");
        }
        drawnLines = lines.size();
        System.out.print(out);
        System.out.flush();
    }

    /** The view's lines; {@code all} includes students waiting or done. */
    List<String> lines(boolean all) {
        List<String> lines = new java.util.ArrayList<>();
        TeacherProgress t = teacher.get();
        long tb = t == null ? 0 : t.batches();
        long tt = t == null ? 0 : t.total();
        double sinceStart = (System.nanoTime() - start) / 1e9;
        String teacherEta = tb > 0 && tt > tb ? String.format(Locale.ROOT, "  ETA %3.0f s", sinceStart / tb * (tt - tb)) : "";
        lines.add(String.format(Locale.ROOT, "%-26s %s %5d/%-5d batches  %s%s", "teacher-producer", bar(tb, tt), tb, tt,
                t == null ? "starting" : String.format(Locale.ROOT, "forward %.0f s", t.forwardSeconds()),
                teacherEta));
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
            lines.add(String.format(Locale.ROOT, "%-26s %s %5d/%-5d loss %6s  %5s img/s  lag %4d  %-9s %s",
                    s.experiment().variant() + " seed " + s.experiment().seed(), bar(trained, total), trained,
                    total, figure(s.loss(), "%.3f"), figure(sps > 0 ? sps : Double.NaN, "%.0f"),
                    Math.max(0, tb - trained), s.status(), eta));
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

    private static String bar(long done, long total) {
        int width = 20;
        int filled = total <= 0 ? 0 : (int) Math.min(width, width * done / total);
        return "[" + "#".repeat(filled) + "-".repeat(width - filled) + "]";
    }
}
