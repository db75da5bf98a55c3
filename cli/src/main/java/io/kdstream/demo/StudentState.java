package io.kdstream.demo;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/** What the demo knows about one student process, fed by its JSON lines. */
final class StudentState {

    final Experiment experiment;
    final String group;
    final List<double[]> evals = new ArrayList<>(); // {step, accuracy}
    final List<double[]> losses = new ArrayList<>(); // {step, total loss}
    volatile String status = "waiting";
    volatile long trained;
    volatile long total;
    volatile double loss = Double.NaN;
    volatile double samplesPerSecond;
    volatile double finalAccuracy = Double.NaN;
    volatile long startNanos;
    volatile long endNanos;
    volatile int exitCode = -1;
    volatile JsonNode result;

    StudentState(Experiment experiment, String group) {
        this.experiment = experiment;
        this.group = group;
    }

    synchronized void accept(JsonNode e) {
        String event = e.path("event").asText();
        switch (event) {
            case "progress" -> {
                trained = e.path("trained").asLong();
                total = e.path("total").asLong();
                loss = e.path("loss").asDouble(Double.NaN);
                samplesPerSecond = e.path("samples_per_second").asDouble();
                losses.add(new double[] {e.path("step").asDouble(), loss});
                status = "training";
            }
            case "eval" -> evals.add(new double[] {e.path("step").asDouble(), e.path("accuracy").asDouble()});
            case "result" -> {
                result = e;
                trained = e.path("trained").asLong();
                total = e.path("total").asLong();
                finalAccuracy = e.path("accuracy").asDouble(Double.NaN);
            }
            default -> {
            }
        }
    }

    synchronized List<double[]> evalCurve() {
        return List.copyOf(evals);
    }

    synchronized List<double[]> lossCurve() {
        return List.copyOf(losses);
    }

    /** Exited 0 having trained every batch of its run. */
    boolean succeeded() {
        return exitCode == 0 && total > 0 && trained == total;
    }

    double wallSeconds() {
        long end = endNanos != 0 ? endNanos : System.nanoTime();
        return startNanos == 0 ? 0 : (end - startNanos) / 1e9;
    }
}
