package io.kdstream.data;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/** Backs {@link RequiresDataset}: enabled when {@link Datasets#locate} finds the dataset (looked up once per JVM). */
public final class DatasetCondition implements ExecutionCondition {

    private static final Map<String, ConditionEvaluationResult> RESULTS = new ConcurrentHashMap<>();

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return context.getElement()
                .flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresDataset.class))
                .map(r -> RESULTS.computeIfAbsent(r.value(), DatasetCondition::evaluate))
                .orElse(ConditionEvaluationResult.enabled("no @RequiresDataset"));
    }

    private static ConditionEvaluationResult evaluate(String dataset) {
        try {
            return ConditionEvaluationResult.enabled("dataset " + dataset + " at " + Datasets.locate(dataset));
        } catch (DatasetNotFoundException e) {
            String pkg = dataset.equals("fashion-mnist") ? "Debian package dataset-fashion-mnist; " : "";
            String reason = "dataset " + dataset + " is not installed (" + pkg + "bin/setup test installs it)";
            // Surefire shows a skip only as a count; this one line per test JVM says why.
            System.err.println("[WARNING] " + reason + ": every test that reads it is skipped");
            return ConditionEvaluationResult.disabled(reason);
        }
    }
}
