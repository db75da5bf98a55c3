package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.kdstream.lifecycle.WatchedProcess;

/**
 * The distribution layout (cli/target after {@code package}): the teacher and student services run
 * from {@code kdstream.jar} and {@code lib/} alone, which hold no Kafka broker or Scala jar; those sit
 * in {@code lib/broker/} for the commands that start a broker (bin/kdstream adds them).
 */
class ServiceClasspathIT {

    private static final Path TARGET = Path.of("target").toAbsolutePath();

    @ParameterizedTest
    @ValueSource(strings = {"teacher", "student"})
    void aServiceStartsFromTheJarWithoutTheBrokerJars(String service) throws Exception {
        assertThat(jars(TARGET.resolve("lib"))).isNotEmpty()
                .noneMatch(j -> j.startsWith("kafka_2.13") || j.startsWith("kafka-server") || j.startsWith("scala-")
                        || j.startsWith("kdstream-broker"));
        assertThat(jars(TARGET.resolve("lib/broker"))).anyMatch(j -> j.startsWith("kafka_2.13"))
                .anyMatch(j -> j.startsWith("scala-library")).noneMatch(j -> j.startsWith("kafka-clients"));
        // the whole command tree loads (picocli resolves every command class) without the broker classes
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true", "-jar",
                TARGET.resolve("kdstream.jar").toString(), service, "--help").redirectErrorStream(true))) {
            assertThat(p.assertSuccess(Duration.ofSeconds(60)).stdout()).startsWith("Usage: kdstream " + service);
        }
    }

    @Test
    void theBrokerFromTheJarAloneSaysWhereItsJarsAre() throws Exception {
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true", "-jar",
                TARGET.resolve("kdstream.jar").toString(), "broker", "--port", "0").redirectErrorStream(true))) {
            out = p.assertExit(1, Duration.ofSeconds(60)).stdout();
        }
        assertThat(out.strip()).doesNotContain("\n").contains("bin/kdstream broker").contains("lib/broker");
    }

    private static List<String> jars(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".jar")).toList();
        }
    }
}
