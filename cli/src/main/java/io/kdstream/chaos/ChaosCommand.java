package io.kdstream.chaos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

import io.kdstream.config.Bounded;
import io.kdstream.config.PathOption;
import io.kdstream.duration.DurationConverter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdstream chaos}: fault injection with real processes and real signals
 * (benchmarks/chaos.sh runs the long loops; ChaosIT a short version): the broker, the
 * teacher-producer and the student-trainer each run as their own JVM from the {@code kdstream}
 * jar; faults are kill -9 (and SIGTERM for the broker) at random points. Each scenario verifies
 * what the user relies on — a {@code read_committed} reader sees every (epoch, batch) exactly
 * once; the student's {@code --trace} shows every batch trained exactly once in the surviving
 * history — and prints one row of the table in docs/reliability.md.
 *
 * <p>One class per scenario ({@link TeacherKills}, {@link StudentKills}, {@link BrokerRestarts},
 * {@link DiskFills}, {@link ClusterKills}); {@link ExactlyOnceAudit} is the check they share.
 *
 * <p>Everything runs on loopback, every wait has a deadline, and the run stops by itself.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = {"Injects faults into real processes on loopback and verifies exactly-once delivery and training.",
                "kill -9 loops of the teacher and the student, SIGTERM and kill -9 of the broker mid-run, the broker's "
                        + "disk filled (--disk-fills, root). Prints the rows of docs/reliability.md.",
                "Exit codes: 0 all verified, 1 a batch was lost or duplicated, a process crashed on its own, or a "
                        + "fault could not be injected."})
public final class ChaosCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--work-dir", converter = PathOption.Directory.class, defaultValue = "kdstream-work/chaos",
            description = "Broker data, checkpoints, traces and logs/ of every process (default: ${DEFAULT-VALUE}).")
    Path work;

    @Option(names = "--teacher-kills", converter = Bounded.NonNegativeInt.class, defaultValue = "10", description = "kill -9 of the teacher (default: ${DEFAULT-VALUE}).")
    int teacherKills;

    @Option(names = "--student-kills", converter = Bounded.NonNegativeInt.class, defaultValue = "10", description = "kill -9 of the student (default: ${DEFAULT-VALUE}).")
    int studentKills;

    @Option(names = "--broker-restarts", converter = Bounded.NonNegativeInt.class, defaultValue = "2",
            description = "Broker fault cycles, each a SIGTERM and a kill -9, restarted; the faults are spread evenly "
                    + "over the run's batches (--broker-epochs), by the student's progress (default: ${DEFAULT-VALUE}).")
    int brokerCycles;

    @Option(names = "--cluster-kills", converter = Bounded.NonNegativeInt.class, defaultValue = "1",
            description = "Three-broker cluster: kill -9 rounds, each of the leader of a features partition and then "
                    + "of the controller leader, restarted; the kills are spread evenly over the run's batches "
                    + "(--broker-epochs), by the student's progress (default: ${DEFAULT-VALUE}).")
    int clusterRounds;

    @Option(names = "--disk-fills", converter = Bounded.NonNegativeInt.class, defaultValue = "0",
            description = "Single broker with its log directory on a small tmpfs mounted here (needs root): the disk "
                    + "is filled mid-run until the broker halts, then remounted larger and the broker restarted, "
                    + "this many times, a teacher running throughout (default: ${DEFAULT-VALUE}).")
    int diskFills;

    @Option(names = "--epochs", converter = Bounded.PositiveInt.class, defaultValue = "10",
            description = "Epochs (of 40 batches) of the kill scenarios' run (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--broker-epochs", converter = Bounded.PositiveInt.class, defaultValue = "30",
            description = "Epochs (of 40 batches) of the broker and cluster scenarios' runs, at least two batches per "
                    + "fault (default: ${DEFAULT-VALUE}).")
    int brokerEpochs;

    @Option(names = "--teacher-session-timeout", defaultValue = "0", paramLabel = "DURATION",
            converter = DurationConverter.class,
            description = "session.timeout.ms of the teachers' work-group consumer, so that a restarted teacher gets "
                    + "its work partitions back sooner than Kafka's 45 s default; 0 = the client default ("
                    + DurationConverter.SYNTAX + "; default: ${DEFAULT-VALUE}).")
    Duration sessionTimeout;

    @Option(names = "--seed", description = "Seed of the kill points (default: the clock); printed in each row.")
    Long seedOption;

    @Option(names = "--jar", converter = PathOption.ExistingFile.class, description = "The kdstream jar the processes run (default: the one this runs from).")
    Path jar;

    @Override
    public Integer call() throws Exception {
        try {
            KillSchedule.requireRoom(2 * brokerCycles, (long) brokerEpochs * ChaosRig.PER_EPOCH, "--broker-restarts "
                    + brokerCycles + " (" + 2 * brokerCycles + " faults) on --broker-epochs " + brokerEpochs);
            KillSchedule.requireRoom(2 * clusterRounds, (long) brokerEpochs * ChaosRig.PER_EPOCH, "--cluster-kills "
                    + clusterRounds + " (" + 2 * clusterRounds + " kills) on --broker-epochs " + brokerEpochs);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage()); // a usage error
        }
        long seed = seedOption != null ? seedOption : System.currentTimeMillis();
        Path work = this.work.toAbsolutePath();
        if (jar == null) {
            jar = Path.of(ChaosCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        }
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("--jar " + jar + " is not the kdstream jar (build it: mvn -DskipTests package)");
        }
        Files.createDirectories(work);
        for (String stale : List.of("student-ref", "student-killed", "student-broker")) {
            ChaosRig.deleteTree(work.resolve(stale));
            Files.deleteIfExists(work.resolve(stale + ".trace"));
        }
        String command = "benchmarks/chaos.sh --teacher-kills " + teacherKills + " --student-kills " + studentKills
                + " --broker-restarts " + brokerCycles + " --cluster-kills " + clusterRounds + " --epochs " + epochs + " --broker-epochs " + brokerEpochs
                + (!sessionTimeout.isZero() ? " --teacher-session-timeout " + sessionTimeout.toMillis() + "ms" : "")
                + (diskFills > 0 ? " --disk-fills " + diskFills : "") + " --seed " + seed;
        ChaosRig rig = new ChaosRig(work, jar, seed, Math.toIntExact(sessionTimeout.toMillis()), command);
        SingleBroker broker = new SingleBroker(rig, work.resolve("kafka"));
        BrokerCluster cluster = null;
        int failures = 0;
        try {
            rig.useKafka(broker::bootstrap);
            if (teacherKills > 0 || studentKills > 0 || brokerCycles > 0) {
                broker.start(true); // the other scenarios bring their own
            }
            Path teacher = rig.teacherModel();
            ChaosRig.log("teacher model ready: %s", teacher);
            if (teacherKills > 0 || studentKills > 0) {
                failures += new TeacherKills(rig, teacher, teacherKills, epochs).run(); // publishes the students' run
            }
            if (studentKills > 0) {
                failures += new StudentKills(rig, studentKills, epochs).run();
            }
            if (brokerCycles > 0) {
                failures += new BrokerRestarts(rig, broker, teacher, brokerCycles, brokerEpochs).run();
            }
            broker.stop(); // the disk scenario has its own broker, the cluster its three
            if (diskFills > 0) {
                failures += new DiskFills(rig, broker, teacher, diskFills, epochs).run();
            }
            if (clusterRounds > 0) {
                cluster = new BrokerCluster(rig);
                failures += new ClusterKills(rig, cluster, teacher, clusterRounds, brokerEpochs).run();
            }
        } finally {
            broker.stop();
            if (cluster != null) {
                cluster.stop();
            }
        }
        System.out.println();
        System.out.println("| fault | injections | batches lost | batches duplicated | crashes | reproduce with |");
        System.out.println("|---|---|---|---|---|---|");
        rig.rows().forEach(System.out::println);
        System.out.flush();
        return failures == 0 ? 0 : 1;
    }
}
