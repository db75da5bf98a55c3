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

    private HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
