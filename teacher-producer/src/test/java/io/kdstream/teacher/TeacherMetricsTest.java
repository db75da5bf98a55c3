package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.kdstream.service.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * What an operator's dashboards and alerts rely on in a teacher's {@code /metrics}: one prefix, a
 * HELP text on every family, and every counter series (each transaction outcome) at zero before
 * the teacher has done anything, so that {@code increase()} sees the first event.
 */
class TeacherMetricsTest {

    private static final Pattern HELP = Pattern.compile("(?m)^# HELP (kdstream_\\S+) ?(.*)$");

    @Test
    void everyFamilyHasOnePrefixAHelpTextAndStartsAtZero() {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("teacher", "run", "r");
        new TeacherMetrics().bindTo(registry);

        String scrape = registry.scrape();
        Map<String, String> help = new LinkedHashMap<>();
        Matcher m = HELP.matcher(scrape);
        while (m.find()) {
            help.put(m.group(1), m.group(2));
        }
        assertThat(help).containsKeys("kdstream_teacher_batches_total", "kdstream_teacher_samples_total",
                "kdstream_teacher_sent_bytes_total", "kdstream_teacher_transactions_total",
                "kdstream_teacher_paused_seconds_total", "kdstream_teacher_producer_replacements_total",
                "kdstream_teacher_work_items_in_progress", "kdstream_teacher_forward_seconds",
                "kdstream_teacher_encode_seconds");
        assertThat(help).allSatisfy((name, text) -> {
            assertThat(name).as("one prefix per service").startsWith("kdstream_teacher_");
            assertThat(text).as("HELP of %s", name).isNotBlank();
        });
        for (String outcome : new String[] {"commit", "abort"}) {
            assertThat(registry.get("kdstream.teacher.transactions").tag("outcome", outcome).functionCounter().count())
                    .as("transactions, outcome %s", outcome).isZero();
        }
        assertThat(registry.get("kdstream.teacher.producer.replacements").functionCounter().count()).isZero();
    }
}
