package io.kdstream.experiment;

import java.util.ArrayList;
import java.util.List;

import io.kdstream.progress.ProgressEvent;
import io.kdstream.progress.ProgressEvent.StudentEval;
import io.kdstream.progress.ProgressEvent.StudentProgress;
import io.kdstream.progress.ProgressEvent.StudentResult;

/** What the demo or the study knows about one student process, fed by its progress events. */
public final class StudentState {

    private final Experiment experiment;
    private final String group;
    private final List<double[]> evals = new ArrayList<>(); // {step, accuracy}
    private final List<double[]> losses = new ArrayList<>(); // {step, total loss}
    private final List<double[]> ces = new ArrayList<>(); // {step, cross-entropy}
    private volatile String status = "waiting";
    private volatile long trained;
    private volatile long total;
    private volatile double loss = Double.NaN;
    private volatile double ce = Double.NaN;
    private volatile double samplesPerSecond;
    private volatile double finalAccuracy = Double.NaN;
    private volatile long startNanos;
    private volatile long endNanos;
    private volatile int exitCode = -1;

    public StudentState(Experiment experiment, String group) {
        this.experiment = experiment;
        this.group = group;
    }

    /** Takes in one line of the student's progress protocol. */
    public synchronized void accept(ProgressEvent e) {
        if (e instanceof StudentProgress p) {
            trained = p.trained();
            total = p.total();
            loss = p.loss();
            samplesPerSecond = p.samplesPerSecond();
            ce = p.ce();
            losses.add(new double[] {p.step(), loss});
            ces.add(new double[] {p.step(), ce});
            status = "training";
        } else if (e instanceof StudentEval v) {
            evals.add(new double[] {v.step(), v.accuracy()});
        } else if (e instanceof StudentResult r) {
            trained = r.trained();
            total = r.total();
            finalAccuracy = r.accuracy();
        }
    }

    /** Its process started now. */
    public void started() {
        startNanos = System.nanoTime();
        status = "starting";
    }

    /** Its process exited now with {@code code}. */
    public void exited(int code) {
        exitCode = code;
        endNanos = System.nanoTime();
        status = code == 0 ? "done" : "failed (" + code + ")";
    }

    /** The student as reports and stores write it. */
    public synchronized StudentSummary summary() {
        return new StudentSummary(group, experiment.variant(), experiment.seed(), experiment.objectiveArgs(),
                finalAccuracy, trained, total, exitCode, wallSeconds(), samplesPerSecond, evalCurve(), lossCurve(),
                ceCurve());
    }

    /** Takes the outcome of a student finished by an earlier run (its stored summary). */
    public synchronized void restore(StudentSummary s) {
        finalAccuracy = s.accuracy();
        trained = s.trained();
        total = s.total();
        exitCode = s.exitCode();
        samplesPerSecond = s.samplesPerSecond();
        startNanos = 1;
        endNanos = 1 + (long) (s.wallSeconds() * 1e9);
        status = "done (stored)";
        evals.addAll(s.evalCurve());
        losses.addAll(s.lossCurve());
        ces.addAll(s.ceCurve());
    }

    public Experiment experiment() {
        return experiment;
    }

    public String group() {
        return group;
    }

    public String status() {
        return status;
    }

    public long trained() {
        return trained;
    }

    public long total() {
        return total;
    }

    /** Cross-entropy of the last progress line: unlike the total, comparable across variants. */
    public double ce() {
        return ce;
    }

    /** {step, cross-entropy} of every progress line. */
    public synchronized List<double[]> ceCurve() {
        return List.copyOf(ces);
    }

    /** Total loss of the last progress line. */
    public double loss() {
        return loss;
    }

    public double samplesPerSecond() {
        return samplesPerSecond;
    }

    public double finalAccuracy() {
        return finalAccuracy;
    }

    public int exitCode() {
        return exitCode;
    }

    /** Its process has started (or it was restored). */
    public boolean hasStarted() {
        return startNanos != 0;
    }

    /** Its process has exited (or it was restored). */
    public boolean hasEnded() {
        return endNanos != 0;
    }

    public synchronized List<double[]> evalCurve() {
        return List.copyOf(evals);
    }

    public synchronized List<double[]> lossCurve() {
        return List.copyOf(losses);
    }

    /** Exited 0 having trained every batch of its run. */
    public boolean succeeded() {
        return exitCode == 0 && total > 0 && trained == total;
    }

    public double wallSeconds() {
        long end = endNanos != 0 ? endNanos : System.nanoTime();
        return startNanos == 0 ? 0 : (end - startNanos) / 1e9;
    }
}
