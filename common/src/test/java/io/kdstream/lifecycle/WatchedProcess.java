package io.kdstream.lifecycle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A child process started by a test, with a deadline that can fire. Its stdout and stderr go to
 * files, never to a pipe the test must drain: a test that reads a pipe to its end before
 * {@code waitFor(timeout)} hangs as long as the child does (and one that waits before reading
 * deadlocks once the child fills the pipe). When the child outlives its deadline it and its
 * descendants are killed and the test fails with the last lines of the child's output.
 *
 * <pre>{@code
 * try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder("python3", "x.py"))) {
 *     String json = p.assertSuccess(Duration.ofMinutes(2)).stdout();
 * }
 * }</pre>
 *
 * Output redirects the builder already has to a file (e.g. {@link KdstreamJvm.Builder#optLog}) are
 * kept and read for the tail; piped ones are sent to files in {@code dir} (a fresh temporary
 * directory, deleted on {@link #close}, unless one is given).
 */
public final class WatchedProcess implements AutoCloseable {

    /** Lines of output a failure quotes. */
    public static final int TAIL_LINES = 40;

    private final Process process;
    private final String command;
    private final Path stdout; // null when the child inherits this JVM's stdout
    private final Path stderr; // null when merged into stdout or inherited
    private final Path ownDir; // deleted on close; null when the caller gave the directory

    private WatchedProcess(Process process, String command, Path stdout, Path stderr, Path ownDir) {
        this.process = process;
        this.command = command;
        this.stdout = stdout;
        this.stderr = stderr;
        this.ownDir = ownDir;
    }

    /** Starts {@code pb} with its piped output sent to files in a fresh temporary directory. */
    public static WatchedProcess start(ProcessBuilder pb) throws IOException {
        Path dir = Files.createTempDirectory("kdstream-child");
        return start(pb, dir, "child", dir);
    }

    /** Starts {@code pb} with its piped output sent to {@code dir/<name>.out} and {@code .err} (kept). */
    public static WatchedProcess start(ProcessBuilder pb, Path dir, String name) throws IOException {
        return start(pb, dir, name, null);
    }

    /** Starts {@code jvm} with its piped output sent to files in a fresh temporary directory. */
    public static WatchedProcess start(KdstreamJvm jvm) throws IOException {
        return start(jvm.processBuilder());
    }

    private static WatchedProcess start(ProcessBuilder pb, Path dir, String name, Path ownDir) throws IOException {
        Files.createDirectories(dir);
        Path out = fileOf(pb.redirectOutput());
        if (pb.redirectOutput().type() == ProcessBuilder.Redirect.Type.PIPE) {
            out = dir.resolve(name + ".out");
            pb.redirectOutput(out.toFile());
        }
        Path err = null;
        if (!pb.redirectErrorStream()) {
            err = fileOf(pb.redirectError());
            if (pb.redirectError().type() == ProcessBuilder.Redirect.Type.PIPE) {
                err = dir.resolve(name + ".err");
                pb.redirectError(err.toFile());
            }
        }
        try {
            return new WatchedProcess(pb.start(), String.join(" ", pb.command()), out, err, ownDir);
        } catch (IOException e) {
            deleteTree(ownDir);
            throw e;
        }
    }

    private static Path fileOf(ProcessBuilder.Redirect r) {
        return r.file() == null ? null : r.file().toPath();
    }

    public Process process() {
        return process;
    }

    /**
     * Waits up to {@code timeout} for the child to exit; if it does not, kills it and its
     * descendants and throws an {@link AssertionError} quoting its output's last lines.
     */
    public WatchedProcess awaitExit(Duration timeout) throws InterruptedException {
        if (!finishesWithin(timeout)) {
            throw new AssertionError(command + " did not exit within " + timeout.toSeconds() + " s (killed)"
                    + tailForMessage());
        }
        return this;
    }

    /** {@link #awaitExit} and then exit code 0, or an {@link AssertionError} quoting the output's tail. */
    public WatchedProcess assertSuccess(Duration timeout) throws InterruptedException {
        return assertExit(0, timeout);
    }

    /** {@link #awaitExit} and then this exit code, or an {@link AssertionError} quoting the output's tail. */
    public WatchedProcess assertExit(int expected, Duration timeout) throws InterruptedException {
        awaitExit(timeout);
        if (process.exitValue() != expected) {
            throw new AssertionError(command + " exited " + process.exitValue() + ", expected " + expected
                    + tailForMessage());
        }
        return this;
    }

    /**
     * Whether the child exited within {@code timeout}; if not it and its descendants are killed. For
     * probes whose failure is an answer (is torch installed?), not a test failure.
     */
    public boolean finishesWithin(Duration timeout) throws InterruptedException {
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        kill();
        return false;
    }

    public int exitValue() {
        return process.exitValue();
    }

    /** Everything the child wrote to stdout so far (stdout and stderr when merged). */
    public String stdout() {
        return read(stdout);
    }

    /** Everything the child wrote to stderr so far ("" when merged into stdout or inherited). */
    public String stderr() {
        return read(stderr);
    }

    /** The last {@code lines} lines of stderr, then of stdout. */
    public String tail(int lines) {
        StringBuilder b = new StringBuilder();
        for (Path f : stderr == null ? new Path[] {stdout} : new Path[] {stderr, stdout}) {
            if (f == null) {
                continue;
            }
            List<String> all = read(f).lines().toList();
            b.append("--- last ").append(Math.min(lines, all.size())).append(" of ").append(all.size())
                    .append(" lines of ").append(f).append(" ---\n");
            all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> b.append(l).append('\n'));
        }
        return b.toString();
    }

    private String tailForMessage() {
        return "\n" + tail(TAIL_LINES);
    }

    private static String read(Path f) {
        if (f == null || !Files.exists(f)) {
            return "";
        }
        try {
            return new String(Files.readAllBytes(f), StandardCharsets.UTF_8); // malformed bytes replaced, not thrown
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void kill() throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Kills the child (and its descendants) if it still runs; deletes the output files it owns. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
        deleteTree(ownDir);
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
