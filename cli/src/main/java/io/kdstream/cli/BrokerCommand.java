package io.kdstream.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.codec.RecordLimits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream broker}: a real single-node KRaft Kafka broker in the foreground, for the demo
 * and for local experiments with any Kafka client.
 */
@Command(name = "broker",
        mixinStandardHelpOptions = true,
        description = {
                "Runs a Kafka broker: a single KRaft node, or one node of a cluster on loopback.",
                "The real Kafka server, not a mock. A multi-node cluster takes --node-id, --controller-port, "
                        + "--quorum-voters and --cluster-id. Runs in the foreground until SIGTERM or Ctrl-C and prints "
                        + "'bootstrap.servers=HOST:PORT' once it accepts clients. The data directory is formatted on first "
                        + "start and reused on restart."})
public final class BrokerCommand implements Callable<Integer> {

    @Option(names = "--port", converter = Bounded.Port.class, defaultValue = "9092",
            description = "Client port on 127.0.0.1; 0 picks a free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data-dir", converter = PathOption.Directory.class, defaultValue = "kdstream-work/kafka",
            description = "Log and metadata directory, kept across restarts (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--max-record-bytes", converter = Bounded.PositiveInt.class, defaultValue = "" + RecordLimits.DEFAULT_MAX_RECORD_BYTES,
            description = "Largest record the broker accepts (default: ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    @Option(names = "--clean", description = "Delete the data directory's contents first: start an empty cluster.")
    boolean clean;

    @Option(names = "--node-id", converter = Bounded.NonNegativeInt.class, defaultValue = "1", description = "KRaft node id (default: ${DEFAULT-VALUE}).")
    int nodeId;

    @Option(names = "--controller-port", converter = Bounded.Port.class, defaultValue = "0",
            description = "Controller port on 127.0.0.1; required with --quorum-voters (default: a free port).")
    int controllerPort;

    @Option(names = "--quorum-voters", paramLabel = "ID@127.0.0.1:PORT,...",
            description = "Every controller of a multi-node cluster on loopback (the same on each node; one process "
                    + "per node, each with its own --node-id, --port, --controller-port and --data-dir). Three or more "
                    + "voters: replication factor 3, min.insync.replicas 2.")
    String quorumVoters;

    @Option(names = "--cluster-id", description = "Cluster id for formatting a new data directory; the same on every "
            + "node of a cluster (default: random, fine for one node).")
    String clusterId;

    @Override
    public Integer call() throws InterruptedException {
        if (quorumVoters != null && clusterId == null) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--quorum-voters needs --cluster-id (the same on every node)");
        }
        // The broker classes are named only in ForegroundBroker: picocli introspects this class for
        // every kdstream command, and the services run without the broker jars (cli/target/lib/broker).
        requireBrokerJars();
        return ForegroundBroker.run(this);
    }

    /** {@code java -jar kdstream.jar broker} has only lib/ on its class path: one line, not a stack trace. */
    private static void requireBrokerJars() {
        try {
            Class.forName("io.kdstream.broker.EmbeddedKafkaBroker", false, BrokerCommand.class.getClassLoader());
            Class.forName("kafka.server.KafkaRaftServer", false, BrokerCommand.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("the broker's jars are not on the class path (" + e.getMessage()
                    + "): run bin/kdstream broker, or add cli/target/lib/broker/* to -cp");
        }
    }
}
