package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import io.kdstream.codec.InvalidBatchException;
import io.kdstream.kafka.DeadLetterQueue;
import io.kdstream.service.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * What an operator's dashboards and alerts rely on in a student's {@code /metrics}: one prefix,
 * a HELP text on every family, every known counter series present at zero before its first
 * event (so {@code rate()} sees that event), and no gauge before it has a value.
 */
class StudentMetricsTest {

    private static final Pattern HELP = Pattern.compile("(?m)^# HELP (kdstream_\\S+) ?(.*)$");
    private static final Pattern SAMPLE = Pattern.compile("(?m)^(kdstream_[a-z_]+)[{ ]");

    @Test
    void everyFamilyHasOnePrefixAndAHelpText() {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student", "run", "r", "group", "g");
        StudentMetrics metrics = started(registry);
        metrics.watch(new FixedFeed(Map.of(0, 12L)));
        metrics.stepped(new StudentModel.StepResult(2.0, 1.5, 0.4, 0.1, true, 1_000, 2_000), 32);
        metrics.evaluated(new StudentModel.EvalResult(0.75, 0.6, 100));
        metrics.checkpointed();

        String scrape = registry.scrape();
        Map<String, String> help = help(scrape);
        assertThat(help).containsKeys("kdstream_student_steps_total", "kdstream_student_samples_total",
                "kdstream_student_loss", "kdstream_student_orthogonality_error",
                "kdstream_student_eval_accuracy_ratio", "kdstream_student_eval_loss",
                "kdstream_student_checkpoint_age_seconds", "kdstream_student_progress_ratio",
                "kdstream_student_consumer_lag_records", "kdstream_student_dlq_records_total",
                "kdstream_student_rollbacks_total", "kdstream_student_step_seconds",
                "kdstream_student_nonfinite_steps_total", "kdstream_student_duplicate_batches_total");
        assertThat(help).allSatisfy((name, text) -> {
            assertThat(name).as("one prefix per service").startsWith("kdstream_student_");
            assertThat(text).as("HELP of %s", name).isNotBlank();
        });
        assertThat(scrape).as("throughput is rate(kdstream_student_samples_total), not a gauge")
                .doesNotContain("per_second");
        assertThat(registry.get("kdstream.student.consumer.lag").gauge().value()).isEqualTo(12.0);
        assertThat(registry.get("kdstream.student.eval.accuracy").gauge().value()).isEqualTo(0.75);
    }

    @Test
    void countersExistAtZeroBeforeTheFirstEventAndGaugesOnlyOnceTheyMeanSomething() {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student", "run", "r", "group", "g");
        started(registry);

        for (InvalidBatchException.Reason reason : InvalidBatchException.Reason.values()) {
            assertThat(registry.get(DeadLetterQueue.METRIC).tag("reason", reason.tag()).counter().count())
                    .as("dead letters, reason %s", reason.tag()).isZero();
        }
        for (String skipped : new String[] {"kdstream.student.nonfinite.steps", "kdstream.student.duplicate.batches",
                "kdstream.student.rollbacks", "kdstream.student.steps", "kdstream.student.samples"}) {
            assertThat(registry.get(skipped).counter().count()).as(skipped).isZero();
        }
        assertThat(registry.get("kdstream.student.progress").gauge().value()).isZero();

        String scrape = registry.scrape();
        assertThat(families(scrape)).as("no value yet: no series")
                .doesNotContain("kdstream_student_checkpoint_age_seconds", "kdstream_student_eval_accuracy_ratio",
                        "kdstream_student_eval_loss", "kdstream_student_loss", "kdstream_student_orthogonality_error",
                        "kdstream_student_consumer_lag_records");
        assertThat(scrape.lines().filter(l -> l.startsWith("kdstream_"))).noneMatch(l -> l.endsWith("NaN"));
    }

    @Test
    void anUnconstrainedProjectionExportsNoOrthogonalityError() {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("student", "run", "r", "group", "g");
        StudentMetrics metrics = new StudentMetrics(TrainingState.fresh(1, 1, 10), () -> Double.NaN);
        metrics.bindTo(registry);
        metrics.stepped(new StudentModel.StepResult(2.0, 1.5, 0.4, 0.0, true, 1_000, 2_000), 32);

        assertThat(families(registry.scrape())).contains("kdstream_student_loss")
                .doesNotContain("kdstream_student_orthogonality_error");
    }

    /** The meters as a trainer has them before its first step: its own and its dead-letter queue's. */
    private static StudentMetrics started(PrometheusMeterRegistry registry) {
        StudentMetrics metrics = new StudentMetrics(TrainingState.fresh(1, 1, 10), () -> 1e-6);
        metrics.bindTo(registry);
        new DeadLetterQueue(new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer()), "r.dlq",
                "g", registry, Duration.ofSeconds(1));
        return metrics;
    }

    private static Map<String, String> help(String scrape) {
        Map<String, String> help = new LinkedHashMap<>();
        Matcher m = HELP.matcher(scrape);
        while (m.find()) {
            help.put(m.group(1), m.group(2));
        }
        return help;
    }

    private static java.util.Set<String> families(String scrape) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        Matcher m = SAMPLE.matcher(scrape);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** A feed that only reports end offsets. */
    private record FixedFeed(Map<Integer, Long> endOffsets) implements BatchFeed {
        @Override
        public Item take(Duration timeout) {
            return null;
        }

        @Override
        public CompletableFuture<Void> commit(Map<Integer, Long> offsets) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void rewind(int newPass) {
        }

        @Override
        public void close() {
        }
    }
}
