package io.kdstream.runs;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.TopicConfig;

import io.kdstream.service.KafkaOptions;
import io.kdstream.duration.DurationConverter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code kdstream runs list|describe|delete}: the lifecycle of runs on a cluster. Kafka keeps a
 * run's features until the run is deleted (DESIGN.md §1, deploy/README.md "Disk"), so finished
 * runs are removed here. Needs the ACLs of {@code RunAcls.runsAdmin}.
 */
@Command(name = "runs", mixinStandardHelpOptions = true,
        description = {"Lists, describes and deletes runs (found by their <run>.manifest topics).",
                "Exit codes: 0 done, 1 error (or delete refused: the run is in use), 4 Kafka refused the login or an ACL."},
        subcommands = {RunsCommand.ListRuns.class, RunsCommand.DescribeRun.class, RunsCommand.DeleteRun.class})
public final class RunsCommand implements Runnable {

    static final String LAG_HELP = "lag: records the group can still read (read_committed; transaction markers "
            + "not counted, so a group that trained every batch shows 0); <=N where more than "
            + RunCatalog.EXACT_LAG_OFFSETS + " offsets remain on a partition and markers are not counted out.";

    /** Exit code of {@code runs delete} refusing a run in use (as any error). */
    public static final int EXIT_REFUSED = 1;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"One line per run: teacher id, epochs, topics, bytes, teachers and the number of student groups; "
                    + "then one line per student group below it.",
                    "Bytes are on the brokers, all replicas. " + LAG_HELP})
    static final class ListRuns extends OnCatalog {
        @Override
        int call(RunCatalog catalog, PrintWriter out) {
            Instant now = Instant.now();
            List<String> runs = catalog.runs();
            if (runs.isEmpty()) {
                out.println("no runs");
            }
            for (String run : runs) {
                RunCatalog.RunReport r = catalog.report(run);
                out.println(String.join("  ", "run=" + run,
                        "teacher_id=" + r.manifest().map(m -> m.teacherId()).orElse("?"),
                        "epochs=" + epochs(r),
                        "topics=" + r.topics().size(),
                        "bytes=" + bytes(r.totalBytes()),
                        "teachers=" + r.teachers(),
                        "student_groups=" + r.groups().size()));
                r.groups().forEach(g -> out.println(groupLine(g, now)));
            }
            return 0;
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true,
            description = {"The run's manifest, each topic's retention and bytes, its teachers and student groups.",
                    LAG_HELP})
    static final class DescribeRun extends OnCatalog {
        @Parameters(paramLabel = "RUN", description = "Run id.")
        String run;

        @Override
        int call(RunCatalog catalog, PrintWriter out) {
            Instant now = Instant.now();
            requireExists(catalog, run);
            RunCatalog.RunReport r = catalog.report(run);
            Map<String, Config> configs = catalog.configs(run);
            out.println("run: " + run);
            out.println("manifest: " + r.manifest().map(m -> new String(m.toJson(), StandardCharsets.UTF_8))
                    .orElse("(none readable)"));
            out.println("epochs published: " + epochs(r));
            out.println("teachers holding it: " + r.teachers());
            out.println("bytes on the brokers (all replicas): " + bytes(r.totalBytes()));
            out.println("topics:");
            for (String topic : r.topics()) {
                Config c = configs.get(topic);
                out.println("  " + topic + "  " + config(c, TopicConfig.CLEANUP_POLICY_CONFIG) + "  "
                        + config(c, TopicConfig.RETENTION_MS_CONFIG) + "  "
                        + config(c, TopicConfig.RETENTION_BYTES_CONFIG) + "  bytes="
                        + r.bytes().map(b -> bytes(b.getOrDefault(topic, 0L))).orElse("?"));
            }
            out.println("student groups:" + (r.groups().isEmpty() ? " none" : ""));
            r.groups().forEach(g -> out.println(groupLine(g, now)));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = {"Deletes every topic of the run and its groups' offsets.",
                    "Refuses while a teacher holds the run or a student group committed within --grace (or has members), "
                            + "unless --force."})
    static final class DeleteRun extends OnCatalog {
        @Parameters(paramLabel = "RUN", description = "Run id.")
        String run;

        @Option(names = "--force", description = "Delete even while the run is in use.")
        boolean force;

        @Option(names = "--grace", defaultValue = "1h", paramLabel = "DURATION", converter = DurationConverter.class,
                description = "A student group that committed within this is in use (" + DurationConverter.SYNTAX
                        + "; default: ${DEFAULT-VALUE}).")
        Duration grace;

        @Override
        int call(RunCatalog catalog, PrintWriter out) {
            requireExists(catalog, run);
            RunCatalog.RunReport r = catalog.report(run);
            List<String> inUse = catalog.inUse(r, grace, Instant.now());
            if (!inUse.isEmpty() && !force) {
                spec.commandLine().getErr().println("runs delete: refusing to delete run " + run + ": "
                        + String.join("; ", inUse) + " (--force deletes anyway)");
                spec.commandLine().getErr().flush();
                return EXIT_REFUSED;
            }
            for (String what : catalog.delete(r)) {
                out.println("deleted " + what);
            }
            out.println("run " + run + " deleted");
            return 0;
        }
    }

    /**
     * A subcommand that reads the cluster: the Kafka options (no metrics port: a one-shot command
     * serves no metrics), and a catalog open while it runs, on a broker that answered first.
     */
    abstract static class OnCatalog implements Callable<Integer> {
        @Mixin
        KafkaOptions kafka;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            // a one-shot command says itself, in one line, when no broker answers: the client's
            // reconnect warnings would only repeat it in Kafka's words
            ch.qos.logback.classic.Logger network = (ch.qos.logback.classic.Logger)
                    org.slf4j.LoggerFactory.getLogger("org.apache.kafka.clients.NetworkClient");
            ch.qos.logback.classic.Level level = network.getLevel();
            network.setLevel(ch.qos.logback.classic.Level.ERROR);
            try (RunCatalog catalog = new RunCatalog(kafka.clients())) {
                catalog.checkReachable();
                return call(catalog, out);
            } finally {
                network.setLevel(level);
                out.flush();
            }
        }

        abstract int call(RunCatalog catalog, PrintWriter out);
    }

    private static void requireExists(RunCatalog catalog, String run) {
        if (!catalog.exists(run)) {
            throw new IllegalArgumentException("no run " + run + " (no topic " + run + ".manifest)");
        }
    }

    private static String epochs(RunCatalog.RunReport r) {
        String published = r.epochsPublished() < 0 ? "?" : Integer.toString(r.epochsPublished());
        return published + "/" + r.manifest().map(m -> Integer.toString(m.epochs())).orElse("?");
    }

    private static String config(Config c, String key) {
        ConfigEntry e = c == null ? null : c.get(key);
        return key + "=" + (e == null ? "?" : e.value());
    }

    private static String bytes(long b) {
        return b < 0 ? "?" : Long.toString(b);
    }

    /** A student group's line, the same in list and describe. */
    static String groupLine(RunCatalog.StudentGroup g, Instant now) {
        return "  " + g.group() + "  state=" + g.state() + "  members=" + g.members() + "  lag="
                + (g.lagExact() ? "" : "<=") + g.lag() + "  last_commit=" + g.lastCommit().map(t ->
                t.truncatedTo(ChronoUnit.SECONDS) + " (" + Duration.between(t, now).toSeconds() + " s ago)")
                .orElse("unknown");
    }
}
