package io.kdstream.chaos;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.kdstream.process.ChildProcess;

/**
 * The single {@code kdstream broker} of the kill, broker and disk scenarios, on a loopback port
 * that stays the same across restarts (clients reconnect to the address they know).
 */
final class SingleBroker {

    private final ChaosRig rig;
    private Path dataDir;
    private int port;
    private ChildProcess process;

    SingleBroker(ChaosRig rig, Path dataDir) {
        this.rig = rig;
        this.dataDir = dataDir;
    }

    String bootstrap() {
        return "127.0.0.1:" + port;
    }

    /** Where the next {@link #start} keeps the broker's data. */
    void dataDir(Path dir) {
        this.dataDir = dir;
    }

    /**
     * Starts the broker and waits until it serves clients; {@code fresh}: on a new port and an
     * empty data directory, else where it was.
     */
    void start(boolean fresh) throws Exception {
        if (fresh) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
        }
        Path log = rig.log("broker");
        long mark = Files.exists(log) ? Files.size(log) : 0;
        List<String> args = new ArrayList<>(List.of("broker", "--port", Integer.toString(port), "--data-dir",
                dataDir.toString()));
        if (fresh) {
            args.add("--clean");
        }
        process = rig.launch("broker", args);
        boolean up = ChaosRig.waitFor(() -> {
            try {
                return Files.size(log) > mark && Files.readString(log).substring((int) mark)
                        .contains("bootstrap.servers=");
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(180));
        if (!up) {
            List<String> l = ChaosRig.utf8Lines(log);
            throw new IllegalStateException("broker did not start within 180 s; the end of " + log + ":\n"
                    + String.join("\n", l.subList(Math.max(0, l.size() - 15), l.size())));
        }
    }

    /** SIGTERM, and up to 60 s for the broker to shut down. */
    void terminate() throws InterruptedException {
        process.terminate();
        process.waitFor(Duration.ofSeconds(60));
    }

    /** kill -9. */
    void kill() throws InterruptedException {
        process.kill();
    }

    /** Waits up to {@code max} for the broker to exit on its own (it halts when its log dir fails). */
    boolean awaitExit(Duration max) throws InterruptedException {
        return process.waitFor(max);
    }

    int exitValue() {
        return process.exitValue();
    }

    /** SIGTERM, kill -9 if it has not stopped within 60 s. */
    void stop() {
        if (process != null) {
            process.stop(60);
        }
    }
}
