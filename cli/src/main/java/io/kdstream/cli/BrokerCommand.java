package io.kdstream.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.kdstream.kafka.EmbeddedKafkaBroker;
import io.kdstream.kafka.RecordLimits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream broker}: a real single-node KRaft Kafka broker in the foreground, for the demo
 * and for local experiments with any Kafka client.
 */
@Command(name = "broker",
        mixinStandardHelpOptions = true,
        description = {
                "Runs a single-node KRaft Kafka broker (the real Kafka server, not a mock).",
                "Runs in the foreground",
                "until SIGTERM or Ctrl-C. Prints 'bootstrap.servers=HOST:PORT' once it accepts clients.",
                "The data directory is formatted on first start and reused on restart."})
public final class BrokerCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "9092",
            description = "Client port on 127.0.0.1; 0 picks a free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data-dir", defaultValue = "kdstream-work/kafka",
            description = "Log and metadata directory, kept across restarts (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--max-record-bytes", defaultValue = "" + RecordLimits.DEFAULT_MAX_RECORD_BYTES,
            description = "Largest record the broker accepts (default: ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    @Option(names = "--clean", description = "Delete the data directory's contents first: start an empty cluster.")
    boolean clean;

    @Override
    public Integer call() throws InterruptedException {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
                .optPort(port)
                .optDataDir(dataDir)
                .optMaxRecordBytes(maxRecordBytes)
                .optCleanStart(clean)
                .build();
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
