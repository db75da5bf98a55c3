package io.kdstream.teacher;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.WhiteningRef;
import io.kdstream.kafka.KafkaAccessErrors;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.manifest.ManifestStore;
import io.kdstream.kafka.RunRetention;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.kafka.WhiteningStore;
import io.kdstream.vkd.CalibratedWhitening;
import io.kdstream.vkd.Normalization;

/**
 * What a teacher does before serving a run: create the run's topics if missing, publish or
 * check the manifest (refusing to start on any difference, naming the fields), and plan the work
 * items once. Safe to run from several teachers at the same time.
 */
public final class RunSetup {

    private static final Logger LOG = LoggerFactory.getLogger(RunSetup.class);

    /**
     * @param featurePartitions partitions of {@code <run>.features}
     * @param workPartitions    partitions of {@code <run>.work}, the most teachers that can work at once
     * @param batchesPerItem    batches per work item (one transaction)
     * @param replicationFactor topic replication factor; -1 for the broker default
     * @param retention         topic-level retention of the run's topics when created
     */
    public record Settings(int featurePartitions, int workPartitions, int batchesPerItem, short replicationFactor,
                           Duration timeout, RunRetention retention) {
        public Settings {
            if (featurePartitions <= 0 || workPartitions <= 0 || batchesPerItem <= 0) {
                throw new IllegalArgumentException("partitions and batches per item must be > 0");
            }
            if (retention == null) {
                throw new IllegalArgumentException("retention is required (RunRetention.untilDeleted())");
            }
        }

        /** Settings whose features and work items stay until the run is deleted. */
        public Settings(int featurePartitions, int workPartitions, int batchesPerItem, short replicationFactor,
                        Duration timeout) {
            this(featurePartitions, workPartitions, batchesPerItem, replicationFactor, timeout,
                    RunRetention.untilDeleted());
        }

        public static Settings defaults() {
            return new Settings(1, 4, 4, (short) -1, Duration.ofSeconds(60));
        }
    }

    private RunSetup() {
    }

    /**
     * @return the run's manifest (equal to {@code spec})
     * @throws io.kdstream.manifest.ManifestMismatchException if the run exists with another configuration
     */
    public static RunSpec prepare(KafkaClients clients, RunSpec spec, Settings settings) {
        return prepare(clients, spec, settings, null).manifest();
    }

    /** The run's manifest and, for a {@code whiten} run, the whitening every teacher of it uses. */
    public record Prepared(RunSpec manifest, CalibratedWhitening whitening) {
    }

    /**
     * As {@link #prepare(KafkaClients, RunSpec, Settings)}; a {@code whiten} run also gets its
     * calibrated whitening: read from {@code <run>.whitening} when the manifest already names one
     * (another teacher computed it), else computed with {@code calibrate}, published, and named
     * in the manifest this teacher publishes. If two first teachers race, the manifest that wins
     * decides and the loser reads the winner's whitening.
     *
     * @param calibrate computes the whitening ({@link WhiteningCalibrator}); needed for whiten runs only
     */
    public static Prepared prepare(KafkaClients clients, RunSpec spec, Settings settings,
                                   Supplier<CalibratedWhitening> calibrate) {
        try (Admin admin = Admin.create(clients.admin())) { // one for the topics and the retention check
            return prepare(clients, admin, spec, settings, calibrate);
        }
    }

    /** As {@link #prepare(KafkaClients, RunSpec, Settings, Supplier)}, with the caller's admin client. */
    public static Prepared prepare(KafkaClients clients, Admin admin, RunSpec spec, Settings settings,
                                   Supplier<CalibratedWhitening> calibrate) {
        RunTopics t = new RunTopics(spec.runId());
        RunRetention retention = settings.retention();
        Map<String, String> maxBytes = TopicAdmin.maxMessageBytes(clients.maxRecordBytes());
        TopicAdmin.ensureTopics(admin, List.of(
                new NewTopic(t.features(), settings.featurePartitions(), settings.replicationFactor())
                        .configs(RunRetention.merge(maxBytes, retention.stream())),
                new NewTopic(t.work(), settings.workPartitions(), settings.replicationFactor())
                        .configs(retention.stream()),
                new NewTopic(t.dlq(), 1, settings.replicationFactor())
                        .configs(RunRetention.merge(maxBytes, RunRetention.dlq())),
                ManifestStore.newTopic(spec.runId(), settings.replicationFactor())),
                settings.timeout());
        CalibratedWhitening whitening = null;
        Optional<RunSpec> existing = spec.normalization() == Normalization.WHITEN
                ? new ManifestStore(clients).read(spec.runId(), settings.timeout()) : Optional.empty();
        // a run that exists with another normalization is refused below, naming the field
        if (spec.normalization() == Normalization.WHITEN
                && existing.map(m -> m.normalization() == Normalization.WHITEN).orElse(true)) {
            if (spec.whitening() == null || calibrate == null) {
                throw new IllegalArgumentException("a whiten run needs its whitening calibration settings");
            }
            WhiteningStore store = new WhiteningStore(clients);
            store.ensureTopic(spec.runId(), settings.replicationFactor(), settings.timeout());
            WhiteningRef published = existing.map(RunSpec::whitening).orElse(null);
            if (existing.isPresent() && existing.get().normalization() == Normalization.WHITEN && published == null) {
                throw new IllegalArgumentException("run " + spec.runId() + " was created with per-batch whitening "
                        + "(before calibrated whitening existed): serve it with --norm whiten-batch, or start a new run");
            }
            if (published != null && published.sha256() != null && published.sameCalibration(spec.whitening())) {
                whitening = verified(store.await(spec.runId(), published.sha256(), settings.timeout()), published.sha256());
                LOG.info("using run {}'s published whitening {}", spec.runId(), published.sha256());
                spec = spec.withWhitening(published);
            } else if (existing.isEmpty()) {
                whitening = calibrate.get();
                store.publish(spec.runId(), whitening.sha256(), new WhiteningStore.Tensors(whitening.mean(),
                        whitening.matrix(), whitening.epsilon()), settings.timeout());
                spec = spec.withWhitening(spec.whitening().withSha256(whitening.sha256()));
            } // else: the manifest disagrees on the calibration; requireMatches below names it
        }
        RunSpec manifest = new ManifestStore(clients).publishIfAbsent(admin, spec, settings.timeout());
        WhiteningRef won = manifest.whitening();
        if (whitening != null && won != null && won.sha256() != null && !won.sha256().equals(whitening.sha256())
                && won.sameCalibration(spec.whitening())) {
            LOG.info("another teacher published run {}'s whitening first: using its {}", spec.runId(), won.sha256());
            whitening = verified(new WhiteningStore(clients).await(spec.runId(), won.sha256(), settings.timeout()),
                    won.sha256());
            spec = spec.withWhitening(won);
        }
        warnAboutShortRetention(clients, admin, t, retention, settings.timeout());
        manifest.requireMatches(spec);
        WorkPlanner.planOnce(clients, spec, settings.batchesPerItem(), settings.timeout());
        return new Prepared(manifest, whitening);
    }

    /**
     * Topics that existed before (an older teacher, or created by hand) may keep records for less
     * time than the run needs. The teacher says so once, with the command that fixes it, and does
     * not alter the topic itself: retention is the operator's decision (it may be deliberate, and
     * AlterConfigs is more than a teacher's ACLs should hold). Without DescribeConfigs on the
     * topics it cannot check and says that instead.
     */
    private static void warnAboutShortRetention(KafkaClients clients, Admin admin, RunTopics t,
                                                RunRetention retention, Duration timeout) {
        try {
            retention.shortfalls(admin, t, clients.bootstrapServers(), timeout).forEach(LOG::warn);
        } catch (IllegalStateException e) {
            if (KafkaAccessErrors.describe(e).isEmpty()) {
                throw e;
            }
            LOG.warn("cannot check the retention of run {}'s topics (no DescribeConfigs ACL on them): {}",
                    t.runId(), e.getMessage());
        }
    }

    private static CalibratedWhitening verified(WhiteningStore.Tensors t, String sha256) {
        return CalibratedWhitening.verified(t.mean(), t.matrix(), t.epsilon(), sha256);
    }
}
