package io.kdstream.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * A real single-node Kafka cluster (broker and KRaft controller in one JVM) started from the
 * Kafka broker jars, not a mock. Used by the demo ({@code kdstream broker}) and by integration
 * tests when no Docker engine is available.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
 *         .optDataDir(Path.of("work/kafka"))
 *         .build()
 *         .start()) {
 *     String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 *
 * <p>The data directory is formatted on first start and reused afterwards, so a broker restarted
 * on the same directory keeps its topics, committed offsets and transaction state.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    /**
     * Largest record value by default: the same 16 MiB as {@code io.kdstream.codec.RecordLimits}, kept
     * here because this module depends on no other kdstream module (RecordLimitsTest pins the two equal).
     */
    public static final int DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

    /** Headroom for record-batch framing, key and headers on top of the value (as RecordLimits). */
    public static final int BATCH_OVERHEAD_BYTES = 64 * 1024;


    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private final Path dataDir;
    private final boolean deleteDataDirOnClose;
    private final int requestedPort;
    private final int maxRecordBytes;
    private final Properties overrides;
    private final boolean cleanStart;
    private final Path keystore;
    private final Path truststore;
    private final String keystorePassword;
    private final Map<String, String> scramUsers;
    private final String superUser;
    private final int nodeId;
    private final int requestedControllerPort;
    private final String quorumVoters;
    private final String clusterId;

    private KafkaRaftServer server;
    private int port;

    private EmbeddedKafkaBroker(Builder b) {
        this.deleteDataDirOnClose = b.dataDir == null;
        try {
            this.dataDir = b.dataDir != null ? b.dataDir : Files.createTempDirectory("kdstream-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary Kafka data directory", e);
        }
        this.requestedPort = b.port;
        this.maxRecordBytes = b.maxRecordBytes;
        this.overrides = b.overrides;
        this.cleanStart = b.cleanStart;
        this.keystore = b.keystore;
        this.truststore = b.truststore;
        this.keystorePassword = b.keystorePassword;
        this.scramUsers = new LinkedHashMap<>(b.scramUsers);
        this.superUser = b.superUser;
        this.nodeId = b.nodeId;
        this.requestedControllerPort = b.controllerPort;
        this.quorumVoters = b.quorumVoters;
        this.clusterId = b.clusterId;
        if (keystore != null && (superUser == null || !scramUsers.containsKey(superUser))) {
            throw new IllegalArgumentException("a SASL_SSL broker needs a super user among its SCRAM users "
                    + "(optScramUser + optSuperUser): it creates the ACLs");
        }
    }

    /** Whether clients must connect with SASL_SSL / SCRAM-SHA-512 (see {@link Builder#optSaslSsl}). */
    public boolean isSecured() {
        return keystore != null;
    }

    /** Nodes in the controller quorum: 1 for the single-node default. */
    private int clusterSize() {
        return quorumVoters == null ? 1 : quorumVoters.split(",").length;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats the data directory if needed and starts the broker; returns once it accepts clients.
     *
     * @throws IllegalStateException if the broker is already running or fails to start
     */
    public synchronized EmbeddedKafkaBroker start() {
        if (server != null) {
            throw new IllegalStateException("broker already running on " + bootstrapServers());
        }
        port = requestedPort > 0 ? requestedPort : freePort();
        int controllerPort = requestedControllerPort > 0 ? requestedControllerPort : freePort();
        Properties props = brokerProperties(port, controllerPort);
        try {
            if (cleanStart) {
                deleteRecursively(dataDir);
            }
            Files.createDirectories(dataDir);
            formatIfNeeded(props);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare Kafka data directory " + dataDir, e);
        }
        long t0 = System.nanoTime();
        KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        try {
            s.startup();
        } catch (RuntimeException e) {
            shutdownQuietly(s);
            throw new IllegalStateException("embedded Kafka broker failed to start on port " + port, e);
        }
        server = s;
        LOG.info("embedded Kafka broker ready at {} (data {}, {} ms)", bootstrapServers(), dataDir,
                (System.nanoTime() - t0) / 1_000_000);
        return this;
    }

    /** {@code host:port} for clients' {@code bootstrap.servers}. */
    public synchronized String bootstrapServers() {
        if (server == null) {
            throw new IllegalStateException("broker is not running");
        }
        return "127.0.0.1:" + port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** Stops the broker and waits for its (non-daemon) threads; the data directory is kept. */
    public synchronized void stop() {
        if (server != null) {
            shutdownQuietly(server);
            server = null;
        }
    }

    /** Stops the broker; a temporary data directory (none was given) is deleted. */
    @Override
    public synchronized void close() {
        stop();
        if (deleteDataDirOnClose) {
            deleteRecursively(dataDir);
        }
    }

    private Properties brokerProperties(int brokerPort, int controllerPort) {
        Properties p = new Properties();
        if (keystore != null) {
            secured(p, brokerPort, controllerPort);
        }
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(nodeId));
        p.put("controller.quorum.voters", quorumVoters != null ? quorumVoters : nodeId + "@127.0.0.1:" + controllerPort);
        p.putIfAbsent("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.putIfAbsent("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.putIfAbsent("inter.broker.listener.name", "PLAINTEXT");
        p.putIfAbsent("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.toAbsolutePath().toString());
        // A single node cannot satisfy the default replication factor of 3: consumer groups
        // silently get nothing and initTransactions times out without these. A cluster of three
        // or more replicates everything three times and acknowledges writes on two.
        String rf = clusterSize() >= 3 ? "3" : "1";
        String isr = clusterSize() >= 3 ? "2" : "1";
        p.put("offsets.topic.replication.factor", rf);
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", rf);
        p.put("transaction.state.log.min.isr", isr);
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", rf);
        p.put("share.coordinator.state.topic.min.isr", isr);
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.partitions", "1");
        p.put("default.replication.factor", rf);
        p.put("min.insync.replicas", isr);
        p.put("message.max.bytes", Integer.toString(maxRecordBytes + BATCH_OVERHEAD_BYTES));
        p.put("replica.fetch.max.bytes", Integer.toString(maxRecordBytes + BATCH_OVERHEAD_BYTES));
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(8 * 1024 * 1024));
        p.put("log.segment.bytes", Integer.toString(64 * 1024 * 1024));
        p.putAll(overrides);
        return p;
    }

    /**
     * One SASL_SSL listener (SCRAM-SHA-512 over TLS) for clients and the broker itself, ACLs
     * enforced by the KRaft authorizer. The controller listener stays PLAINTEXT on loopback, so
     * its (anonymous) principal is a super user; it serves only controller requests.
     */
    private void secured(Properties p, int brokerPort, int controllerPort) {
        p.put("listeners", "SASL_SSL://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "SASL_SSL://127.0.0.1:" + brokerPort);
        p.put("inter.broker.listener.name", "SASL_SSL");
        p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT");
        p.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
        p.put("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
        p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", scramJaas(superUser, scramUsers.get(superUser)));
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", keystore.toAbsolutePath().toString());
        p.put("ssl.keystore.password", keystorePassword);
        p.put("ssl.key.password", keystorePassword);
        // Kafka checks at start-up that a client with the broker's own SSL settings can reach it
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", truststore.toAbsolutePath().toString());
        p.put("ssl.truststore.password", keystorePassword);
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:" + superUser + ";User:ANONYMOUS");
        p.put("allow.everyone.if.no.acl.found", "false");
    }

    /** The JAAS line a SCRAM client (or the broker) logs in with. */
    public static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private void formatIfNeeded(Properties props) throws IOException {
        if (Files.exists(dataDir.resolve("meta.properties"))) {
            return;
        }
        Path config = Files.createTempFile("kdstream-kraft-", ".properties");
        try {
            try (OutputStream out = Files.newOutputStream(config)) {
                props.store(out, "kdstream embedded broker");
            }
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            int rc;
            try (PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8)) {
                List<String> args = new ArrayList<>(List.of("format", "-t",
                        clusterId != null ? clusterId : Uuid.randomUuid().toString(),
                        "-c", config.toString()));
                // SCRAM credentials go into the cluster metadata at format time, so they exist
                // before the first client connects
                scramUsers.forEach((user, password) -> args.addAll(List.of("--add-scram",
                        "SCRAM-SHA-512=[name=" + user + ",password=" + password + "]")));
                rc = StorageTool.execute(args.toArray(String[]::new), ps);
            }
            if (rc != 0) {
                throw new IllegalStateException("formatting Kafka data directory " + dataDir + " failed: "
                        + log.toString(StandardCharsets.UTF_8).trim());
            }
        } finally {
            Files.deleteIfExists(config);
        }
    }

    private static void shutdownQuietly(KafkaRaftServer s) {
        try {
            s.shutdown();
            s.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("error while stopping the embedded Kafka broker", e);
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    LOG.debug("could not delete {}", path, e);
                }
            });
        } catch (IOException e) {
            LOG.debug("could not clean {}", dir, e);
        }
    }

    /** Builder in the DJL style: every setting optional, sensible defaults. */
    public static final class Builder {
        private Path dataDir;
        private int port;
        private int maxRecordBytes = DEFAULT_MAX_RECORD_BYTES;
        private final Properties overrides = new Properties();
        private boolean cleanStart;
        private Path keystore;
        private Path truststore;
        private String keystorePassword;
        private final Map<String, String> scramUsers = new LinkedHashMap<>();
        private String superUser;
        private int nodeId = 1;
        private int controllerPort;
        private String quorumVoters;
        private String clusterId;

        private Builder() {
        }

        /**
         * Serves clients on one SASL_SSL listener (SCRAM-SHA-512) with ACLs enforced, instead of
         * PLAINTEXT. The PKCS12 keystore holds the broker's certificate for 127.0.0.1, the PKCS12
         * truststore the certificate (or its CA) that clients trust; both use one password. Needs
         * {@link #optScramUser} users, one of them the {@link #optSuperUser}. SCRAM users are
         * written when the data directory is formatted (first start).
         */
        public Builder optSaslSsl(Path keystore, Path truststore, String keystorePassword) {
            this.keystore = Objects.requireNonNull(keystore, "keystore");
            this.truststore = Objects.requireNonNull(truststore, "truststore");
            this.keystorePassword = Objects.requireNonNull(keystorePassword, "keystorePassword");
            return this;
        }

        /** A SCRAM-SHA-512 user (only with {@link #optSaslSsl}). */
        public Builder optScramUser(String user, String password) {
            if (user.isEmpty() || !user.matches("[A-Za-z0-9._-]+") || password.contains("]") || password.contains(",")) {
                throw new IllegalArgumentException("SCRAM user names are [A-Za-z0-9._-]+ and passwords may not "
                        + "contain ',' or ']' (the storage tool's syntax)");
            }
            scramUsers.put(user, password);
            return this;
        }

        /** The principal allowed everything (the broker itself and whoever creates the ACLs). */
        public Builder optSuperUser(String user) {
            this.superUser = Objects.requireNonNull(user, "user");
            return this;
        }

        /**
         * Joins a multi-node KRaft cluster on loopback: this node's id, its controller port, and
         * every voter as {@code id@127.0.0.1:controllerPort,...} (the same on each node). With
         * three or more voters, internal and default topics get replication factor 3 and
         * {@code min.insync.replicas} 2.
         */
        public Builder optClusterNode(int nodeId, int controllerPort, String quorumVoters) {
            if (nodeId < 0 || controllerPort <= 0 || controllerPort > 65535) {
                throw new IllegalArgumentException("node id must be >= 0 and the controller port in 1..65535");
            }
            if (!java.util.Arrays.asList(quorumVoters.split(",")).contains(nodeId + "@127.0.0.1:" + controllerPort)) {
                throw new IllegalArgumentException("quorum voters " + quorumVoters + " do not list this node as "
                        + nodeId + "@127.0.0.1:" + controllerPort);
            }
            this.nodeId = nodeId;
            this.controllerPort = controllerPort;
            this.quorumVoters = quorumVoters;
            return this;
        }

        /** Cluster id to format a new data directory with: every node of one cluster needs the same. */
        public Builder optClusterId(String clusterId) {
            this.clusterId = Objects.requireNonNull(clusterId, "clusterId");
            return this;
        }

        /** Deletes whatever the data directory holds before starting: a new, empty cluster. */
        public Builder optCleanStart(boolean clean) {
            this.cleanStart = clean;
            return this;
        }

        /** Data directory, formatted on first start and reused; default a temporary directory deleted on close. */
        public Builder optDataDir(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /** Client port on 127.0.0.1; default 0 = a free port. */
        public Builder optPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /** Largest record value the broker accepts (default 16 MiB). */
        public Builder optMaxRecordBytes(int maxRecordBytes) {
            if (maxRecordBytes < 1024) {
                throw new IllegalArgumentException("maxRecordBytes must be at least 1024, got " + maxRecordBytes);
            }
            this.maxRecordBytes = maxRecordBytes;
            return this;
        }

        /** Any broker property, applied last. */
        public Builder optProperty(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
