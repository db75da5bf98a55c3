package io.kdstream.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A kdstream service started as its own JVM (teacher and students never share a process). Its
 * stdout JSON lines go to a listener, its stderr to a log file; {@link #stop} sends SIGTERM and
 * escalates to SIGKILL after a grace period.
 */
final class ChildProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Process process;
    private final Thread reader;
    private final List<String> otherLines = new ArrayList<>();

    private ChildProcess(String name, Process process, Consumer<JsonNode> events) {
        this.name = name;
        this.process = process;
        this.reader = new Thread(() -> read(events), "demo-" + name + "-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /** The command that runs {@code kdstream <args>} in a new JVM with this JVM's class path. */
    static List<String> kdstream(String maxHeap, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Xmx" + maxHeap);
        cmd.add("-XX:+UseSerialGC"); // small services on shared cores: no parallel GC threads
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.kdstream.cli.KdstreamCommand");
        cmd.addAll(args);
        return cmd;
    }

    static ChildProcess start(String name, List<String> command, Path log, Consumer<JsonNode> events)
            throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        env.put("DJL_OFFLINE", "true");
        env.putIfAbsent("OMP_NUM_THREADS", "1"); // one libtorch thread per process: the cores are shared
        return new ChildProcess(name, pb.start(), events);
    }

    /** Same, but the child's output goes to this terminal (e.g. the teacher training's progress bar). */
    static Process startInherited(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }

    private void read(Consumer<JsonNode> events) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("{")) {
                    try {
                        events.accept(JSON.readTree(line));
                        continue;
                    } catch (IOException e) {
                        // not JSON after all: keep it as text
                    }
                }
                synchronized (otherLines) {
                    otherLines.add(line);
                }
            }
        } catch (IOException e) {
            // the process went away
        }
    }

    /** Lines that were not JSON events (e.g. the broker's bootstrap address). */
    List<String> textLines() {
        synchronized (otherLines) {
            return List.copyOf(otherLines);
        }
    }

    String name() {
        return name;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** Waits for the exit code, after the stdout reader drained every line. */
    int waitFor() throws InterruptedException {
        int code = process.waitFor();
        reader.join(5_000);
        return code;
    }

    /** SIGTERM, then SIGKILL after {@code graceSeconds}; also ends the process's own children. */
    void stop(int graceSeconds) {
        if (!process.isAlive()) {
            return;
        }
        process.toHandle().descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(10);
    }
}
