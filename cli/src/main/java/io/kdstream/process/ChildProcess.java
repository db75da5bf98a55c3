package io.kdstream.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.progress.ProgressEvent;

/**
 * A kdstream service started as its own JVM (teacher and students never share a process). Either
 * its stdout is read here (progress events to a listener; of other lines the first and the last
 * {@value #KEPT_LINES} are kept as text, so a chatty child cannot fill the heap) or its output
 * goes where its {@link KdstreamJvm} sends it (a log file). {@link #stop} sends SIGTERM and
 * escalates to SIGKILL after a grace period; {@link #kill} is kill -9.
 */
public final class ChildProcess implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Thread reader;
    /** Non-event lines kept at each end of a child's stdout; lines longer than {@link #KEPT_CHARS} are cut. */
    static final int KEPT_LINES = 200;
    static final int KEPT_CHARS = 4096;

    private final List<String> firstLines = new ArrayList<>(); // e.g. the broker's bootstrap address
    private final Deque<String> lastLines = new ArrayDeque<>(); // e.g. a result, or why it failed
    private long droppedLines;

    private ChildProcess(String name, Process process, Consumer<ProgressEvent> events) {
        this.name = name;
        this.process = process;
        if (events == null) {
            this.reader = null;
            return;
        }
        this.reader = new Thread(() -> read(events), "child-" + name + "-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code jvm}, whose stdout must be piped: its progress events go to {@code events}. */
    public static ChildProcess start(String name, KdstreamJvm jvm, Consumer<ProgressEvent> events) throws IOException {
        return new ChildProcess(name, jvm.start(), events);
    }

    /** Reads the stdout of an already started {@code process} (tests use any command). */
    static ChildProcess of(String name, Process process, Consumer<ProgressEvent> events) {
        return new ChildProcess(name, process, events);
    }

    /** Starts {@code jvm} with its output where the JVM's builder sent it (nothing is read here). */
    public static ChildProcess start(String name, KdstreamJvm jvm) throws IOException {
        return new ChildProcess(name, jvm.start(), null);
    }

    private void read(Consumer<ProgressEvent> events) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                var event = ProgressEvent.parse(line);
                if (event.isPresent()) {
                    events.accept(event.get());
                    continue;
                }
                keep(line.length() > KEPT_CHARS ? line.substring(0, KEPT_CHARS) : line);
            }
        } catch (IOException e) {
            // the process went away
        }
    }

    private synchronized void keep(String line) {
        if (firstLines.size() < KEPT_LINES) {
            firstLines.add(line);
            return;
        }
        lastLines.addLast(line);
        if (lastLines.size() > KEPT_LINES) {
            lastLines.removeFirst();
            droppedLines++;
        }
    }

    /**
     * Lines that were not progress events (e.g. the broker's bootstrap address): the first and the
     * last {@value #KEPT_LINES}, in order, each cut at {@value #KEPT_CHARS} characters.
     */
    public synchronized List<String> textLines() {
        List<String> all = new ArrayList<>(firstLines);
        all.addAll(lastLines);
        return all;
    }

    /** How many non-event lines between the first and the last {@value #KEPT_LINES} were not kept. */
    public synchronized long droppedLines() {
        return droppedLines;
    }

    public String name() {
        return name;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** The exit code; only once the process has exited. */
    public int exitValue() {
        return process.exitValue();
    }

    /** Waits for the exit code, after the stdout reader drained every line. */
    public int waitFor() throws InterruptedException {
        int code = process.waitFor();
        if (reader != null) {
            reader.join(5_000);
        }
        return code;
    }

    /** Waits at most {@code max} for the process to exit; true if it did. */
    public boolean waitFor(Duration max) throws InterruptedException {
        return process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** SIGTERM, without waiting. */
    public void terminate() {
        process.destroy();
    }

    /** kill -9 (SIGKILL on Linux), and up to 30 s for the process to be gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then SIGKILL after {@code graceSeconds}; also ends the process's own children. */
    public void stop(int graceSeconds) {
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
