package io.kdstream.cli;

import java.util.concurrent.CountDownLatch;

import io.kdstream.broker.EmbeddedKafkaBroker;

/**
 * {@code kdstream broker}'s body, apart from {@link BrokerCommand} so that no method signature of a
 * command class names a broker type: {@code kdstream teacher} and {@code kdstream student} run without
 * the broker jars, and picocli resolves every command class's methods when it builds the command tree.
 */
final class ForegroundBroker {

    private ForegroundBroker() {
    }

    /** Runs the broker {@code o} describes until SIGTERM or Ctrl-C. */
    static int run(BrokerCommand o) throws InterruptedException {
        EmbeddedKafkaBroker.Builder b = EmbeddedKafkaBroker.builder()
                .optPort(o.port)
                .optDataDir(o.dataDir)
                .optMaxRecordBytes(o.maxRecordBytes)
                .optCleanStart(o.clean);
        if (o.quorumVoters != null) {
            b.optClusterNode(o.nodeId, o.controllerPort, o.quorumVoters);
        }
        if (o.clusterId != null) {
            b.optClusterId(o.clusterId);
        }
        EmbeddedKafkaBroker broker = b.build();
        CountDownLatch stopped = new CountDownLatch(1);
        // The broker's threads are non-daemon: stop it from the shutdown hook so SIGTERM and
        // Ctrl-C end the process within seconds, with the log flushed.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.stop();
            stopped.countDown();
        }, "kdstream-broker-shutdown"));
        broker.start();
        System.out.println("bootstrap.servers=" + broker.bootstrapServers());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
