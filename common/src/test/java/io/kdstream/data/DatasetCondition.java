package io.kdstream.data;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * Backs {@link RequiresDataset}: enabled when {@link Datasets#locate} finds the dataset (looked up
 * once per JVM); else disabled with a {@code [dataset]} reason, or in strict mode (CI, see
 * {@link Prerequisites}) a failure, since {@code bin/setup test} installs the dataset.
 */
public final class DatasetCondition implements ExecutionCondition {

    private static final Map<String, Optional<String>> MISSING = new ConcurrentHashMap<>();

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<RequiresDataset> r = context.getElement()
                .flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresDataset.class));
        if (r.isEmpty()) {
            return ConditionEvaluationResult.enabled("no @RequiresDataset");
        }
        Optional<String> missing = MISSING.computeIfAbsent(r.get().value(), DatasetCondition::missing);
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("dataset " + r.get().value() + " installed");
        }
        Prerequisites.failIfStrict(Need.DATASET, missing.get()); // a condition that throws fails its test or class
        return ConditionEvaluationResult.disabled(Prerequisites.skipReason(Need.DATASET, missing.get()));
    }

    private static Optional<String> missing(String dataset) {
        try {
            Datasets.locate(dataset);
            return Optional.empty();
        } catch (DatasetNotFoundException e) {
            String pkg = dataset.equals("fashion-mnist") ? "Debian package dataset-fashion-mnist; " : "";
            String reason = "dataset " + dataset + " is not installed (" + pkg + "bin/setup test installs it)";
            // Surefire shows a skip only as a count; this one line per test JVM says why.
            System.err.println("[WARNING] " + reason + ": every test that reads it is skipped");
            return Optional.of(reason);
        }
    }
}
