package io.kdstream.chaos;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.Uuid;

import io.kdstream.process.ChildProcess;

/** Three KRaft nodes (broker and controller each, node ids 1..3) on loopback, for the cluster scenario. */
final class BrokerCluster {

    private final ChaosRig rig;
    private final ChildProcess[] nodes = new ChildProcess[3];
    private final int[] nodePorts = new int[3];
    private final int[] controllerPorts = new int[3];
    private final String clusterId = Uuid.randomUuid().toString();

    BrokerCluster(ChaosRig rig) throws IOException {
        this.rig = rig;
        for (int i = 0; i < 3; i++) {
            try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                 ServerSocket b = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                nodePorts[i] = a.getLocalPort();
                controllerPorts[i] = b.getLocalPort();
            }
        }
    }

    String bootstrap() {
        return "127.0.0.1:" + nodePorts[0] + ",127.0.0.1:" + nodePorts[1] + ",127.0.0.1:" + nodePorts[2];
    }

    /** Starts every node on empty data directories and waits until each serves clients. */
    void start() throws Exception {
        for (int i = 1; i <= 3; i++) {
            startNode(i, true);
        }
        for (int i = 1; i <= 3; i++) {
            awaitNode(i);
        }
    }

    /** kill -9 of node {@code id}. */
    void kill(int id) throws InterruptedException {
        nodes[id - 1].kill();
    }

    /** Restarts node {@code id} on its data and waits until it serves clients. */
    void restart(int id) throws Exception {
        startNode(id, false);
        awaitNode(id);
    }

    private void startNode(int id, boolean fresh) throws IOException {
        int i = id - 1;
        String voters = "1@127.0.0.1:" + controllerPorts[0] + ",2@127.0.0.1:" + controllerPorts[1] + ",3@127.0.0.1:"
                + controllerPorts[2];
        List<String> args = new ArrayList<>(List.of("broker", "--node-id", "" + id, "--port", "" + nodePorts[i],
                "--controller-port", "" + controllerPorts[i], "--quorum-voters", voters, "--cluster-id", clusterId,
                "--data-dir", rig.work.resolve("cluster").resolve("node" + id).toString()));
        if (fresh) {
            args.add("--clean");
        }
        nodes[i] = rig.launch("node" + id, args);
    }

    private void awaitNode(int id) throws Exception {
        boolean up = ChaosRig.waitFor(() -> {
            try (Socket sock = new Socket()) {
                sock.connect(new InetSocketAddress("127.0.0.1", nodePorts[id - 1]), 200);
                return true;
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(180));
        if (!up) {
            throw new IllegalStateException("cluster node " + id + " did not start; see " + rig.log("node" + id));
        }
    }

    /**
     * SIGTERM to every node at once, kill -9 of those left after 30 s. One at a time, the last node
     * cannot shut down: its controlled shutdown waits for a controller quorum that the others took
     * with them (it sat out a 60 s grace in every run).
     */
    void stop() {
        for (ChildProcess p : nodes) {
            if (p != null) {
                p.terminate();
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (ChildProcess p : nodes) {
            if (p != null) {
                try {
                    p.waitFor(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                p.stop(0);
            }
        }
    }
}
