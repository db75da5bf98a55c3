package io.kdstream.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * A real Prometheus server (Debian's 2.42) scrapes a {@link MetricsServer} and gets OpenMetrics,
 * which it asks for first in its Accept header. Seen from Prometheus's own API: a counter's metadata
 * is filed under its OpenMetrics family name ({@code kdstream_teacher_batches}), where the
 * Prometheus text format would have filed it under {@code kdstream_teacher_batches_total}.
 */
class MetricsServerPrometheusIT {

    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;

    @Test
    void prometheusNegotiatesOpenMetrics() throws Exception {
        Optional<Path> prometheus = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "prometheus")).filter(Files::isExecutable).findFirst();
        Prerequisites.assume(Need.TOOL, prometheus.isPresent(), "the prometheus binary is not installed (Debian package prometheus; "
                + ".ci/run installs it): skipping the real-Prometheus scrape");

        PrometheusMeterRegistry registry = MetricsServer.newRegistry("teacher");
        Counter.builder("kdstream.teacher.batches").register(registry).increment(3);
        try (MetricsServer server = MetricsServer.start(registry, 0, () -> true)) {
            Path config = work.resolve("prometheus.yml");
            Files.writeString(config, """
                    global:
                      scrape_interval: 1s
                      scrape_timeout: 1s
                    scrape_configs:
                      - job_name: kdstream-teacher
                        static_configs:
                          - targets: ["127.0.0.1:%d"]
                    """.formatted(server.port()));
            int port = freePort();
            Process p = new ProcessBuilder(prometheus.get().toString(), "--config.file=" + config,
                    "--storage.tsdb.path=" + work.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
                    "--log.level=warn")
                    .redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
            try {
                String api = "http://127.0.0.1:" + port + "/api/v1";
                JsonNode counter = await(p, () -> get(api + "/metadata?metric=kdstream_teacher_batches")
                        .map(j -> j.at("/data/kdstream_teacher_batches/0")).filter(n -> !n.isMissingNode()));
                assertThat(counter.path("type").asText()).isEqualTo("counter");
                assertThat(get(api + "/metadata?metric=kdstream_teacher_batches_total").orElseThrow().path("data"))
                        .as("no text-format family name").isEmpty();
                JsonNode sample = await(p, () -> get(api + "/query?query=kdstream_teacher_batches_total")
                        .map(j -> j.at("/data/result/0/value/1")).filter(n -> !n.isMissingNode()));
                assertThat(sample.asDouble()).isEqualTo(3.0);
            } finally {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private JsonNode await(Process p, java.util.function.Supplier<Optional<JsonNode>> condition) throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            Optional<JsonNode> v = condition.get();
            if (v.isPresent()) {
                return v.get();
            }
            if (!p.isAlive()) {
                fail("prometheus exited (" + p.exitValue() + "): " + Files.readString(work.resolve("prometheus.log")));
            }
            Thread.sleep(200);
        }
        return fail("prometheus had not scraped OpenMetrics within " + DEADLINE + ": "
                + Files.readString(work.resolve("prometheus.log")));
    }

    private static Optional<JsonNode> get(String url) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Optional.of(JSON.readTree(r.body())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
