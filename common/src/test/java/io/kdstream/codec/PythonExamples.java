package io.kdstream.codec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.kdstream.lifecycle.WatchedProcess;

/** The Python side of cross-language tests: Debian's interpreter and the scripts under examples/. */
public final class PythonExamples {

    /** Debian's python3-numpy and python3-confluent-kafka install for this interpreter, not for others on PATH. */
    public static final String PYTHON = "/usr/bin/python3";

    private PythonExamples() {
    }

    /** Whether {@link #PYTHON} can import numpy and confluent_kafka. */
    public static boolean hasModules() {
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PYTHON, "-c", "import numpy, confluent_kafka"))) {
            return p.finishesWithin(Duration.ofSeconds(60)) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Why {@link #PYTHON} cannot run PyTorch (Debian's python3-torch, which {@code bin/setup test}
     * installs), or null when it can: the reason a PyTorch cross-check is skipped.
     */
    public static String torchMissing() {
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PYTHON, "-c", "import torch")
                .redirectErrorStream(true))) {
            return p.finishesWithin(Duration.ofSeconds(120)) && p.exitValue() == 0 ? null
                    : PYTHON + " cannot import torch (bin/setup test installs python3-torch): " + p.tail(5).trim();
        } catch (IOException e) {
            return "no " + PYTHON + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while probing " + PYTHON;
        }
    }

    /** {@code examples/<name>}, looked up from the working directory upwards (tests run in a module). */
    public static Path script(String name) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("examples").resolve(name);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("examples/" + name + " not found above " + Path.of("").toAbsolutePath());
    }
}
