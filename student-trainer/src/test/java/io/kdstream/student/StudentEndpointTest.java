package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A student's {@code /metrics} answers from the start, before any Kafka wait, and its
 * {@code /readyz} says "not ready" until the trainer consumes: here no broker listens at all, so
 * the student waits for its manifest the whole time.
 */
class StudentEndpointTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    @TempDir
    Path dir;

    @Test
    void metricsServeAndReadyzRefusesWhileTheStudentWaitsForKafka() throws Exception {
        int port = freePort();
        int deadBroker = freePort();
        Thread student = new Thread(() -> new CommandLine(new StudentCommand()).execute("--run", "r", "--group", "g",
                "--checkpoint-dir", dir.resolve("ckpt").toString(), "--bootstrap-servers", "127.0.0.1:" + deadBroker,
                "--manifest-timeout", "PT3S", "--kafka-timeout", "PT2S", "--metrics-port", Integer.toString(port)), "student-under-test");
        student.setDaemon(true);
        student.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            HttpResponse<String> metrics = null;
            while (metrics == null && System.nanoTime() < deadline && student.isAlive()) {
                metrics = get(port, "/metrics");
                if (metrics == null) {
                    Thread.sleep(50);
                }
            }
            assertThat(metrics).as("/metrics answers while the student waits for Kafka").isNotNull();
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("jvm_memory_used_bytes");
            HttpResponse<String> ready = get(port, "/readyz");
            assertThat(ready).isNotNull();
            assertThat(ready.statusCode()).as("/readyz before the trainer consumes").isEqualTo(503);
        } finally {
            student.join(TimeUnit.SECONDS.toMillis(60));
        }
        assertThat(student.isAlive()).as("the student gives up on the manifest").isFalse();
        assertThat(get(port, "/metrics")).as("the endpoint closes with the command").isNull();
    }

    private static HttpResponse<String> get(int port, String path) throws InterruptedException {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
