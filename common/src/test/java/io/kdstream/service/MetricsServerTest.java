package io.kdstream.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

class MetricsServerTest {

    private final HttpClient client = HttpClient.newHttpClient();

    @Test
    void servesPrometheusTextAndHealth() throws Exception {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("test");
        Counter.builder("kdstream.teacher.batches").register(registry).increment(3);
        AtomicBoolean ready = new AtomicBoolean(false);
        try (MetricsServer server = MetricsServer.start(registry, 0, ready::get)) {
            HttpResponse<String> metrics = get(server, "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("kdstream_teacher_batches_total{service=\"test\"} 3.0")
                    .contains("jvm_memory_used_bytes");
            assertThat(get(server, "/healthz").statusCode()).isEqualTo(200);
            assertThat(get(server, "/readyz").statusCode()).isEqualTo(503);
            ready.set(true);
            assertThat(get(server, "/readyz").statusCode()).isEqualTo(200);
            server.markFailed("3 non-finite steps in a row");
            HttpResponse<String> health = get(server, "/healthz");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("non-finite");
            assertThat(get(server, "/readyz").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void answersTheFormatTheScrapeAccepts() throws Exception {
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("test");
        Counter.builder("kdstream.teacher.batches").register(registry).increment(3);
        try (MetricsServer server = MetricsServer.start(registry, 0, () -> true)) {
            // what Prometheus 2.x sends
            HttpResponse<String> om = get(server, "/metrics", "application/openmetrics-text;version=1.0.0,"
                    + "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
            assertThat(om.headers().firstValue("Content-Type")).hasValueSatisfying(
                    t -> assertThat(t).startsWith("application/openmetrics-text; version=1.0.0"));
            assertThat(om.body()).contains("kdstream_teacher_batches_total{service=\"test\"} 3.0")
                    .contains("# TYPE kdstream_teacher_batches counter\n").endsWith("# EOF\n");

            for (String plain : new String[] {null, "text/plain;version=0.0.4", "*/*"}) {
                HttpResponse<String> text = get(server, "/metrics", plain);
                assertThat(text.headers().firstValue("Content-Type")).as("Accept %s", plain)
                        .hasValue("text/plain; version=0.0.4; charset=utf-8");
                assertThat(text.body()).contains("kdstream_teacher_batches_total{service=\"test\"} 3.0")
                        .contains("# TYPE kdstream_teacher_batches_total counter\n").doesNotContain("# EOF");
            }
        }
    }

    private HttpResponse<String> get(MetricsServer server, String path, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
