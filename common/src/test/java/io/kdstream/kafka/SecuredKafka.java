package io.kdstream.kafka;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.kdstream.lifecycle.WatchedProcess;

import io.kdstream.broker.EmbeddedKafkaBroker;

/**
 * The embedded broker with one SASL_SSL (SCRAM-SHA-512) listener and ACLs enforced
 * ({@code allow.everyone.if.no.acl.found=false}), for security tests: a certificate for 127.0.0.1
 * made with the JDK's keytool, SCRAM users written at format time, {@value #ADMIN} a super user.
 * Client property files as a service reads them with {@code --kafka-config}.
 */
public final class SecuredKafka implements AutoCloseable {

    public static final String ADMIN = "admin";

    private final Path dir;
    private final String storePassword;
    private final Map<String, String> passwords;
    private final Path truststore;
    private final EmbeddedKafkaBroker broker;

    private SecuredKafka(Path dir, String storePassword, Map<String, String> passwords, Path truststore,
                         EmbeddedKafkaBroker broker) {
        this.dir = dir;
        this.storePassword = storePassword;
        this.passwords = passwords;
        this.truststore = truststore;
        this.broker = broker;
    }

    /**
     * Starts the broker under {@code dir} with these SCRAM users (name → password); one must be
     * {@value #ADMIN}, the super user that creates ACLs.
     */
    public static SecuredKafka start(Path dir, String storePassword, Map<String, String> users) throws Exception {
        if (!users.containsKey(ADMIN)) {
            throw new IllegalArgumentException("the users must include the super user " + ADMIN);
        }
        Path keystore = dir.resolve("broker.p12");
        Path cert = dir.resolve("broker.pem");
        Path truststore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", storePassword, "-keypass", storePassword);
        keytool("-exportcert", "-rfc", "-alias", "broker", "-keystore", keystore.toString(),
                "-storepass", storePassword, "-file", cert.toString());
        keytool("-importcert", "-noprompt", "-alias", "broker", "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", truststore.toString(), "-storepass", storePassword);
        EmbeddedKafkaBroker.Builder b = EmbeddedKafkaBroker.builder().optDataDir(dir.resolve("kafka"))
                .optSaslSsl(keystore, truststore, storePassword).optSuperUser(ADMIN);
        users.forEach(b::optScramUser);
        return new SecuredKafka(dir, storePassword, new LinkedHashMap<>(users), truststore, b.build().start());
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    /** A client properties file ({@code --kafka-config}) logging in as {@code user} with {@code password}. */
    public Path clientProperties(String name, String user, String password) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, String.join("\n",
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.jaas.config=" + EmbeddedKafkaBroker.scramJaas(user, password).replace("\\", "\\\\"),
                "ssl.truststore.type=PKCS12",
                "ssl.truststore.location=" + truststore,
                "ssl.truststore.password=" + storePassword, ""));
        return file;
    }

    /** Clients logged in as one of the users given at start. */
    public KafkaClients clients(String user) throws IOException {
        String password = passwords.get(user);
        if (password == null) {
            throw new IllegalArgumentException("no such user: " + user);
        }
        return KafkaClients.of(bootstrapServers())
                .withPropertiesFile(clientProperties(user + "-" + UUID.randomUUID() + ".properties", user, password));
    }

    @Override
    public void close() {
        broker.close();
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool")
                .toString()));
        cmd.addAll(List.of(args));
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(cmd).redirectErrorStream(true))) {
            p.assertSuccess(Duration.ofSeconds(60));
        }
    }
}
