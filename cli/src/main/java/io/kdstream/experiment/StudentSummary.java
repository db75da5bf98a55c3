package io.kdstream.experiment;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * A student's outcome as reports and the study store write it: the demo's and the study's
 * {@code report.json} list these per student, and the study keeps one per finished student (the
 * store of a resumable study: files written before this record existed have exactly these fields).
 *
 * @param args       the objective's command-line arguments: a stored student is reused only for the same ones
 * @param accuracy   final accuracy on the evaluated split (NaN if never evaluated)
 * @param exitCode   the student process's exit code (-1 while it runs)
 * @param evalCurve  {step, accuracy} of every periodic evaluation
 * @param lossCurve  {step, total loss} of every progress line (objectives differ by variant: not comparable)
 * @param ceCurve    {step, cross-entropy} of every progress line, comparable across variants (absent from
 *                   files written before it existed, and then not written)
 */
@JsonPropertyOrder({"group", "variant", "seed", "args", "accuracy", "trained", "total", "exit_code", "wall_seconds",
        "samples_per_second", "eval_curve", "loss_curve", "ce_curve"})
public record StudentSummary(String group, String variant, int seed, List<String> args, double accuracy, long trained,
                             long total, @JsonProperty("exit_code") int exitCode,
                             @JsonProperty("wall_seconds") double wallSeconds,
                             @JsonProperty("samples_per_second") double samplesPerSecond,
                             @JsonProperty("eval_curve") List<double[]> evalCurve,
                             @JsonProperty("loss_curve") List<double[]> lossCurve,
                             @JsonProperty("ce_curve") @JsonInclude(JsonInclude.Include.NON_EMPTY)
                             List<double[]> ceCurve) {

    public StudentSummary {
        evalCurve = evalCurve == null ? List.of() : evalCurve;
        lossCurve = lossCurve == null ? List.of() : lossCurve;
        ceCurve = ceCurve == null ? List.of() : ceCurve;
    }
}
