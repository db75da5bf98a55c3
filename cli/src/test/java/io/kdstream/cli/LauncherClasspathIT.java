package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The class path {@code bin/kdstream} gives each command, as the launcher builds it: {@code JAVA}
 * points at a script that records its arguments instead of starting a JVM, and the {@code -cp}
 * it got is expanded (directory globs, and each jar's manifest Class-Path). The teacher and
 * student services run without the Kafka broker and Scala jars; the broker has them.
 */
class LauncherClasspathIT {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"teacher, false", "student, false", "broker, true"})
    void theLauncherGivesTheBrokerJarsOnlyToCommandsThatRunABroker(String command, boolean broker) throws Exception {
        Path args = tmp.resolve("args");
        Path fakeJava = tmp.resolve("java");
        Files.writeString(fakeJava, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"" + args + "\"\n");
        Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("bin/kdstream").toString(), command, "--help")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("out").toFile());
        pb.environment().put("JAVA", fakeJava.toString());
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(tmp.resolve("out"))).isZero();

        List<String> jars = classPathJars(Files.readAllLines(args));
        assertThat(jars).anyMatch(j -> j.startsWith("kafka-clients-")).anyMatch(j -> j.startsWith("pytorch-engine-"));
        boolean hasBroker = jars.stream().anyMatch(j -> j.startsWith("kafka_2.13-") || j.startsWith("kafka-server-")
                || j.startsWith("scala-"));
        assertThat(hasBroker).as("broker or Scala jars on the class path of %s: %s", command, jars).isEqualTo(broker);
    }

    /** The file names of every jar on the {@code -cp} (or {@code -jar}) of a java command line. */
    private static List<String> classPathJars(List<String> javaArgs) throws IOException {
        List<Path> entries = new ArrayList<>();
        for (int i = 0; i + 1 < javaArgs.size(); i++) {
            if (javaArgs.get(i).equals("-cp") || javaArgs.get(i).equals("-classpath")) {
                for (String e : javaArgs.get(i + 1).split(":")) {
                    entries.add(Path.of(e));
                }
            } else if (javaArgs.get(i).equals("-jar")) {
                entries.add(Path.of(javaArgs.get(i + 1)));
            }
        }
        assertThat(entries).as("class path in %s", javaArgs).isNotEmpty();
        List<String> jars = new ArrayList<>();
        for (Path e : entries) {
            if (e.getFileName().toString().equals("*")) {
                try (Stream<Path> s = Files.list(e.getParent())) {
                    s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".jar")).forEach(jars::add);
                }
                continue;
            }
            jars.add(e.getFileName().toString());
            try (JarFile jar = new JarFile(e.toFile())) {
                String manifestPath = jar.getManifest() == null ? null
                        : jar.getManifest().getMainAttributes().getValue("Class-Path");
                if (manifestPath != null) {
                    for (String m : manifestPath.trim().split("\\s+")) {
                        jars.add(Path.of(m).getFileName().toString());
                    }
                }
            }
        }
        return jars;
    }
}
