package io.kdstream.chaos;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.student.Checkpoint;
import io.kdstream.student.CheckpointStore;
import io.kdstream.student.StepTrace;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kdstream chaos}: fault injection with real processes and real signals
 * (benchmarks/chaos.sh runs the long loops; ChaosIT a short version): the broker, the
 * teacher-producer and the student-trainer each run as their own JVM from the {@code kdstream}
 * jar; faults are kill -9 (and SIGTERM for the broker) at random points. Each scenario verifies
 * what the user relies on — a {@code read_committed} reader sees every (epoch, batch) exactly
 * once; the student's {@code --trace} shows every batch trained exactly once in the surviving
 * history — and prints one row of the table in docs/reliability.md.
 *
 * <p>Everything runs on loopback, every wait has a deadline, and the run stops by itself.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = {"Fault injection with real processes and signals, on loopback: kill -9 loops of the teacher and",
                "the student, SIGTERM and kill -9 of the broker mid-run, the broker's disk filled (--disk-fills, root).",
                "Verifies exactly-once delivery and training and",
                "prints the rows of docs/reliability.md. Exit codes: 0 all verified, 1 a batch was lost or duplicated,",
                "a process crashed on its own, or a fault could not be injected."})
public final class ChaosCommand implements Callable<Integer> {

    private static final int BATCH = 50;
    private static final int TRAIN_LIMIT = 2000; // 40 batches per epoch
    private static final int CHECKPOINT_EVERY = 5;
    /** Longest wait for progress after a (re)start or fault. */
    private static final Duration DEADLINE = Duration.ofMinutes(5);
    /** Longest wait for a process to finish its run (a student's final evaluation is slow on a busy machine). */
    private static final Duration RUN_DEADLINE = Duration.ofMinutes(20);

    @Option(names = "--work-dir", defaultValue = "kdstream-work/chaos",
            description = "Broker data, checkpoints, traces and logs/ of every process (default: ${DEFAULT-VALUE}).")
    Path work;

    @Option(names = "--teacher-kills", defaultValue = "10", description = "kill -9 of the teacher (default: ${DEFAULT-VALUE}).")
    int teacherKills;

    @Option(names = "--student-kills", defaultValue = "10", description = "kill -9 of the student (default: ${DEFAULT-VALUE}).")
    int studentKills;

    @Option(names = "--broker-restarts", defaultValue = "2",
            description = "Broker fault cycles, each a SIGTERM and a kill -9 (default: ${DEFAULT-VALUE}).")
    int brokerCycles;

    @Option(names = "--cluster-kills", defaultValue = "1",
            description = "Three-broker cluster: kill -9 rounds, each of the leader of a features partition and then "
                    + "of the controller leader, restarted (default: ${DEFAULT-VALUE}).")
    int clusterRounds;

    @Option(names = "--disk-fills", defaultValue = "0",
            description = {"Single broker with its log directory on a small tmpfs mounted here (needs root): the disk is",
                    "filled mid-run until the broker halts, then remounted larger and the broker restarted, this many",
                    "times, a teacher running throughout (default: ${DEFAULT-VALUE})."})
    int diskFills;

    @Option(names = "--epochs", defaultValue = "10",
            description = "Epochs (of 40 batches) of the kill scenarios' run (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--broker-epochs", defaultValue = "30",
            description = "Epochs of the broker scenario's run: long enough to outlast its faults (default: ${DEFAULT-VALUE}).")
    int brokerEpochs;

    @Option(names = "--teacher-session-timeout-ms", defaultValue = "0",
            description = "session.timeout.ms of the teachers' work-group consumer, so that a restarted teacher gets "
                    + "its work partitions back sooner than Kafka's 45 s default; 0 = the client default "
                    + "(default: ${DEFAULT-VALUE}).")
    int sessionTimeoutMs;

    @Option(names = "--seed", description = "Seed of the kill points (default: the clock); printed in each row.")
    Long seedOption;

    @Option(names = "--jar", description = "The kdstream jar the processes run (default: the one this runs from).")
    Path jar;

    private long seed;
    private Random random;
    private final List<String> rows = new ArrayList<>();
    private String command;
    private Process broker;
    private int port;
    private final Process[] nodes = new Process[3];
    private final int[] nodePorts = new int[3];
    private final int[] controllerPorts = new int[3];
    private String clusterId;
    private String bootstrapOverride;
    private Path brokerData;

    @Override
    public Integer call() throws Exception {
        seed = seedOption != null ? seedOption : System.currentTimeMillis();
        random = new Random(seed);
        work = work.toAbsolutePath();
        if (jar == null) {
            jar = Path.of(ChaosCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        }
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("--jar " + jar + " is not the kdstream jar (build it: mvn -DskipTests package)");
        }
        Files.createDirectories(work);
        brokerData = work.resolve("kafka");
        for (String stale : List.of("student-ref", "student-killed", "student-broker")) {
            deleteTree(work.resolve(stale));
            Files.deleteIfExists(work.resolve(stale + ".trace"));
        }
        command = "benchmarks/chaos.sh --teacher-kills " + teacherKills + " --student-kills " + studentKills
                + " --broker-restarts " + brokerCycles + " --cluster-kills " + clusterRounds + " --epochs " + epochs + " --broker-epochs " + brokerEpochs
                + (sessionTimeoutMs > 0 ? " --teacher-session-timeout-ms " + sessionTimeoutMs : "")
                + (diskFills > 0 ? " --disk-fills " + diskFills : "") + " --seed " + seed;
        int failures = 0;
        try {
            startBroker(true);
            Path teacher = teacherModel();
            if (teacherKills > 0 || studentKills > 0) {
                failures += teacherKills(teacher, teacherKills);
            }
            if (studentKills > 0) {
                failures += studentKills(studentKills);
            }
            if (brokerCycles > 0) {
                failures += brokerRestarts(teacher, brokerCycles);
            }
            stopBroker();
            if (diskFills > 0) {
                failures += diskFills(teacher, diskFills);
            }
            if (clusterRounds > 0) {
                failures += clusterKills(teacher, clusterRounds);
            }
        } finally {
            stopBroker();
            for (Process p : nodes) {
                if (p != null) {
                    p.destroy();
                    if (!p.waitFor(60, TimeUnit.SECONDS)) {
                        kill9(p);
                    }
                }
            }
        }
        System.out.println();
        System.out.println("| fault | injections | batches lost | batches duplicated | crashes | reproduce with |");
        System.out.println("|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
        System.out.flush();
        return failures == 0 ? 0 : 1;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    // ---------------------------------------------------------------- scenarios

    /** kill -9 of the teacher at random points across work items, restarted each time, until it finishes. */
    private int teacherKills(Path teacher, int kills) throws Exception {
        String run = "chaos-teacher-" + seed;
        int total = epochs * TRAIN_LIMIT / BATCH;
        int crashes = 0;
        int injected = 0;
        for (int k = 0; k <= kills; k++) {
            Process t = teacher(run, teacher, epochs, "t" + k);
            if (k == kills) {
                crashes += awaitExit(t, "teacher " + k) ? 0 : 1;
                break;
            }
            long before = committed(run);
            int ahead = 1 + random.nextInt(10);
            boolean due = waitFor(() -> !t.isAlive() || committed(run) >= before + ahead, DEADLINE);
            Thread.sleep(random.nextInt(800)); // land anywhere inside a work item
            if (!t.isAlive()) {
                crashes += t.exitValue() == 0 ? 0 : 1;
                log("teacher %d exited %d before its kill (last stable offset %d, %d batches planned)", k,
                        t.exitValue(), committed(run), total);
                if (t.exitValue() == 0) {
                    break; // finished early: the run is published
                }
                continue;
            }
            if (!due) {
                log("teacher %d made no progress in %s", k, DEADLINE);
            }
            kill9(t);
            injected++;
            log("teacher kill %d at last stable offset %d (%d batches planned)", injected, committed(run), total);
        }
        Map<String, Integer> seen = readCommitted(run, total);
        int lost = lost(seen, epochs, TRAIN_LIMIT / BATCH);
        int dup = duplicates(seen);
        if (kills > 0) {
            row("teacher-producer kill -9 at random points across work items, restarted (single broker)", injected,
                    lost, dup, crashes);
        } else {
            log("teacher run (no kills) for the student scenario: %d lost, %d duplicated, %d crashes", lost, dup,
                    crashes);
        }
        return lost + dup + crashes + (injected < kills ? 1 : 0);
    }

    /** kill -9 of the student at random points (mid-step, mid-checkpoint, before the commit), restarted. */
    private int studentKills(int kills) throws Exception {
        String run = "chaos-teacher-" + seed; // the run the teacher scenario published
        int perEpoch = TRAIN_LIMIT / BATCH;
        int crashes = 0;
        Path refDir = work.resolve("student-ref");
        Path refTrace = work.resolve("student-ref.trace");
        crashes += awaitExit(student(run, "ref-" + seed, refDir, refTrace), "uninterrupted student") ? 0 : 1;

        Path dir = work.resolve("student-killed");
        Path trace = work.resolve("student-killed.trace");
        int injected = 0;
        for (int k = 0; k <= kills; k++) {
            Process s = student(run, "killed-" + seed, dir, trace);
            if (k == kills) {
                crashes += awaitExit(s, "student after kills") ? 0 : 1;
                break;
            }
            long from = startOf(trace, k + 1, s);
            int ahead = 1 + random.nextInt(3 * CHECKPOINT_EVERY);
            waitFor(() -> !s.isAlive() || lastStep(trace) >= from + ahead, DEADLINE);
            Thread.sleep(random.nextInt(40)); // a step is ~10-30 ms: this moves the kill inside one
            if (!s.isAlive()) {
                crashes++;
                log("student %d exited %d before its kill", k, s.exitValue());
                continue;
            }
            kill9(s);
            injected++;
        }
        StepTrace.Replay r = StepTrace.replay(trace);
        StepTrace.Replay ref = StepTrace.replay(refTrace);
        int lost = r.missing(1, epochs, perEpoch).size();
        int dup = r.duplicates();
        Map<String, Integer> where = new java.util.TreeMap<>();
        r.interruptions().forEach(i -> where.merge(i.where(CHECKPOINT_EVERY), 1, Integer::sum));
        boolean sameOrder = r.surviving().equals(ref.surviving());
        boolean sameParams = sameParams(refDir, dir);
        log("student kills: %d, where: %s, steps rolled back: %d, torn lines: %d, contiguous: %s, same batch order "
                + "as uninterrupted: %s, final parameters bit-equal to uninterrupted: %s", injected, where,
                r.rolledBack(), r.torn(), r.contiguous(), sameOrder, sameParams);
        row("student-trainer kill -9 at random points (" + describe(where) + "; " + r.rolledBack()
                + " steps rolled back and retrained), restarted; final parameters "
                + (sameParams ? "bit-equal to" : "DIFFER from") + " an uninterrupted run", injected, lost, dup, crashes);
        return lost + dup + crashes + (sameParams && r.contiguous() ? 0 : 1) + (injected < kills ? 1 : 0);
    }

    /** SIGTERM, then kill -9, of the single broker while a teacher and a student run; restarted each time. */
    private int brokerRestarts(Path teacher, int cycles) throws Exception {
        String run = "chaos-broker-" + seed;
        int epochs = brokerEpochs;
        int perEpoch = TRAIN_LIMIT / BATCH;
        int total = epochs * perEpoch;
        Path trace = work.resolve("student-broker.trace");
        Process t = teacher(run, teacher, epochs, "broker-t");
        Process s = student(run, "broker-" + seed, work.resolve("student-broker"), trace);
        int injected = 0;
        int stalled = 0;
        for (int c = 0; c < cycles; c++) {
            for (boolean graceful : new boolean[] {true, false}) {
                long fromT = committedOr(run, 0);
                long fromS = Math.max(0, lastStep(trace));
                waitFor(() -> !t.isAlive() || committedOr(run, 0) >= fromT + 8, DEADLINE);
                waitFor(() -> !s.isAlive() || lastStep(trace) >= fromS + 8, DEADLINE);
                if (!t.isAlive() || !s.isAlive()) {
                    log("broker fault %d not injected: teacher alive %s, student alive %s", injected + 1, t.isAlive(),
                            s.isAlive());
                    break;
                }
                if (graceful) {
                    broker.destroy();
                    broker.waitFor(60, TimeUnit.SECONDS);
                } else {
                    kill9(broker);
                }
                injected++;
                long down = 2000 + random.nextInt(4000);
                log("broker %s (fault %d), down for %d ms", graceful ? "SIGTERM" : "kill -9", injected, down);
                Thread.sleep(down);
                startBroker(false);
                long t0 = System.nanoTime();
                long stepAtRestart = Math.max(0, lastStep(trace));
                if (!waitFor(() -> !s.isAlive() || lastStep(trace) > stepAtRestart, DEADLINE)) {
                    stalled++;
                }
                log("student trained again %.1f s after the broker came back", (System.nanoTime() - t0) / 1e9);
            }
        }
        int crashes = (awaitExit(t, "teacher through broker restarts") ? 0 : 1)
                + (awaitExit(s, "student through broker restarts") ? 0 : 1);
        Map<String, Integer> seen = readCommitted(run, total);
        int lost = lost(seen, epochs, perEpoch);
        int dup = duplicates(seen);
        StepTrace.Replay r = StepTrace.replay(trace);
        int sLost = r.missing(1, epochs, perEpoch).size();
        int sDup = r.duplicates();
        log("broker restarts: %d; teacher output lost %d dup %d; student lost %d dup %d; stalled %d", injected, lost,
                dup, sLost, sDup, stalled);
        row("single broker stopped (SIGTERM) and killed (kill -9) mid-run, restarted on the same data dir; "
                + "teacher and student running", injected, lost + sLost, dup + sDup, crashes);
        return lost + dup + sLost + sDup + crashes + stalled + (injected < 2 * cycles ? 1 : 0);
    }

    /**
     * The broker's log directory on a small tmpfs: mid-run, a filler file leaves 1–3 MiB free, so
     * the teacher's writes fill the disk within seconds. Kafka marks the directory failed and,
     * the only one gone, halts the broker. After 10–70 s the tmpfs is remounted 32 MiB larger and
     * the broker restarted on the same data; the teacher must have waited (not exited, nothing
     * committed lost) and finish the run with each (epoch, batch) exactly once.
     */
    private int diskFills(Path teacher, int fills) throws Exception {
        Path mnt = work.resolve("kafka-tmpfs");
        Files.createDirectories(mnt);
        long sizeMiB = 64;
        String mounted = sh("mount", "-t", "tmpfs", "-o", "size=" + sizeMiB + "m", "tmpfs", mnt.toString());
        if (mounted != null) {
            log("disk-fill scenario NOT run: cannot mount a tmpfs at %s (%s); it needs root", mnt, mounted);
            return 1;
        }
        String run = "chaos-disk-" + seed;
        int perEpoch = TRAIN_LIMIT / BATCH;
        int total = epochs * perEpoch;
        int injected = 0;
        int stalled = 0;
        int crashes = 0;
        Path teacherLog = work.resolve("logs").resolve("teacher-" + run + ".log");
        Files.deleteIfExists(teacherLog);
        Path brokerLog = work.resolve("logs").resolve("broker.log");
        List<String> outageLines = new ArrayList<>();
        try {
            brokerData = mnt.resolve("kafka");
            startBroker(true);
            Process t = teacher(run, teacher, epochs, "disk-t");
            for (int f = 0; f < fills; f++) {
                long from = committed(run);
                waitFor(() -> !t.isAlive() || committed(run) >= from + 8, DEADLINE);
                if (!t.isAlive()) {
                    log("disk fill %d not injected: the teacher is not running", f + 1);
                    break;
                }
                long headroom = (1L << 20) + random.nextInt(2 << 20);
                long avail = Files.getFileStore(mnt).getUsableSpace();
                long brokerMark = lineCount(brokerLog);
                try (var out = Files.newOutputStream(mnt.resolve("filler-" + f))) {
                    byte[] block = new byte[1 << 20];
                    for (long left = avail - headroom; left > 0; left -= block.length) {
                        out.write(block, 0, (int) Math.min(block.length, left));
                    }
                } catch (IOException e) {
                    log("disk fill %d: the broker's writes filled the disk before the filler did (%s)", f + 1, e);
                }
                long filledAt = System.nanoTime();
                log("disk fill %d: %d KiB left free on the broker's log dir (%d MiB tmpfs)", f + 1, headroom >> 10,
                        sizeMiB);
                if (!broker.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
                    log("disk fill %d: the broker did not halt within %s", f + 1, DEADLINE);
                    stalled++;
                    break;
                }
                injected++;
                List<String> brokerLines = utf8Lines(brokerLog);
                String halted = brokerLines.subList((int) Math.min(brokerMark, brokerLines.size()), brokerLines.size())
                        .stream()
                        .filter(l -> l.contains("No space left") || l.contains("Shutdown broker")
                                || l.contains("log directory has failed"))
                        .map(l -> l.length() > 200 ? l.substring(0, 200) : l).distinct().limit(3)
                        .reduce("", (a, b) -> a + "\n    " + b);
                log("disk fill %d: broker exited %d %.1f s after the fill; its log:%s", f + 1, broker.exitValue(),
                        (System.nanoTime() - filledAt) / 1e9, halted);
                long teacherMark = lineCount(teacherLog);
                long down = 10_000 + random.nextInt(60_000);
                Thread.sleep(down);
                sizeMiB += 32;
                String grown = sh("mount", "-o", "remount,size=" + sizeMiB + "m", mnt.toString());
                if (grown != null) {
                    throw new IllegalStateException("cannot remount " + mnt + " larger: " + grown);
                }
                boolean alive = t.isAlive();
                long atRestart = committed(run);
                startBroker(false);
                long restartedAt = System.nanoTime();
                boolean moved = waitFor(() -> !t.isAlive() || committedOr(run, 0) > atRestart, DEADLINE)
                        && t.isAlive();
                List<String> during = utf8Lines(teacherLog);
                during = during.subList((int) Math.min(teacherMark, during.size()), during.size());
                during.stream().filter(l -> l.contains("Kafka not answering") || l.contains("still waiting")
                        || l.contains("reachable again")).forEach(outageLines::add);
                log("disk fill %d: down %.0f s, teacher %s, %d log lines meanwhile; %s %.1f s after the broker came "
                        + "back (tmpfs now %d MiB)", f + 1, down / 1000.0, alive ? "waited" : "EXITED",
                        during.size(), moved ? "teacher committed again" : "teacher did NOT commit again",
                        (System.nanoTime() - restartedAt) / 1e9, sizeMiB);
                stalled += moved ? 0 : 1;
            }
            crashes += awaitExit(t, "teacher through disk fills") ? 0 : 1;
            Map<String, Integer> seen = readCommitted(run, total);
            int lost = lost(seen, epochs, perEpoch);
            int dup = duplicates(seen);
            log("disk fills: %d; teacher's outage lines:%s", injected, outageLines.stream()
                    .map(l -> "\n    " + (l.length() > 240 ? l.substring(0, 240) : l)).reduce("", String::concat));
            row("single broker, log dir on a 64 MiB tmpfs filled mid-run (Kafka fails the dir and halts), down 10–70 s, "
                    + "remounted 32 MiB larger and restarted; teacher running", injected, lost, dup, crashes);
            return lost + dup + crashes + stalled + (injected < fills ? 1 : 0);
        } finally {
            stopBroker();
            brokerData = work.resolve("kafka");
            String un = sh("umount", mnt.toString());
            if (un != null) {
                log("could not unmount %s: %s", mnt, un);
            }
        }
    }

    /** Runs a command; null when it exited 0, else its output. */
    private static String sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
    }

    private static long lineCount(Path f) {
        return utf8Lines(f).size();
    }

    private static List<String> utf8Lines(Path f) {
        try {
            return Files.exists(f) ? new String(Files.readAllBytes(f), StandardCharsets.UTF_8).lines().toList() : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    // ---------------------------------------------------------------- processes

    private List<String> java(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Xmx512m", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Process launch(String name, List<String> cmd) throws IOException {
        Path log = work.resolve("logs").resolve(name + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }

    private void startBroker(boolean fresh) throws Exception {
        if (fresh) {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
        }
        Path log = work.resolve("logs").resolve("broker.log");
        long mark = Files.exists(log) ? Files.size(log) : 0;
        List<String> args = new ArrayList<>(List.of("broker", "--port", Integer.toString(port), "--data-dir",
                brokerData.toString()));
        if (fresh) {
            args.add("--clean");
        }
        broker = launch("broker", java(args.toArray(String[]::new)));
        boolean up = waitFor(() -> {
            try {
                return Files.size(log) > mark && Files.readString(log).substring((int) mark)
                        .contains("bootstrap.servers=");
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(180));
        if (!up) {
            List<String> l = lines(log);
            throw new IllegalStateException("broker did not start within 180 s; the end of " + log + ":\n"
                    + String.join("\n", l.subList(Math.max(0, l.size() - 15), l.size())));
        }
    }

    private void stopBroker() throws InterruptedException {
        if (broker != null) {
            broker.destroy();
            if (!broker.waitFor(60, TimeUnit.SECONDS)) {
                kill9(broker);
            }
        }
    }

    private String bootstrap() {
        return bootstrapOverride != null ? bootstrapOverride : "127.0.0.1:" + port;
    }

    /** Starts node {@code i} (0..2, node id i+1) of the three-broker cluster and waits until it serves clients. */
    private Process startNode(int i, boolean fresh) throws Exception {
        String voters = "1@127.0.0.1:" + controllerPorts[0] + ",2@127.0.0.1:" + controllerPorts[1] + ",3@127.0.0.1:"
                + controllerPorts[2];
        List<String> args = new ArrayList<>(List.of("broker", "--node-id", "" + (i + 1), "--port", "" + nodePorts[i],
                "--controller-port", "" + controllerPorts[i], "--quorum-voters", voters, "--cluster-id", clusterId,
                "--data-dir", work.resolve("cluster").resolve("node" + (i + 1)).toString()));
        if (fresh) {
            args.add("--clean");
        }
        nodes[i] = launch("node" + (i + 1), java(args.toArray(String[]::new)));
        return nodes[i];
    }

    private void awaitNode(int i) throws Exception {
        Path log = work.resolve("logs").resolve("node" + (i + 1) + ".log");
        boolean up = waitFor(() -> {
            try (java.net.Socket sock = new java.net.Socket()) {
                sock.connect(new java.net.InetSocketAddress("127.0.0.1", nodePorts[i]), 200);
                return true;
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(180));
        if (!up) {
            throw new IllegalStateException("cluster node " + (i + 1) + " did not start; see " + log);
        }
    }

    /**
     * Three KRaft nodes (broker and controller each) on loopback, topics with replication factor 3
     * and min.insync.replicas 2; kill -9 of the leader of the features partition, then of the
     * controller leader, each restarted once the others carried on without it.
     */
    private int clusterKills(Path teacher, int rounds) throws Exception {
        clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
        for (int i = 0; i < 3; i++) {
            try (ServerSocket a = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                 ServerSocket b = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                nodePorts[i] = a.getLocalPort();
                controllerPorts[i] = b.getLocalPort();
            }
        }
        for (int i = 0; i < 3; i++) {
            startNode(i, true);
        }
        for (int i = 0; i < 3; i++) {
            awaitNode(i);
        }
        bootstrapOverride = "127.0.0.1:" + nodePorts[0] + ",127.0.0.1:" + nodePorts[1] + ",127.0.0.1:" + nodePorts[2];
        String run = "chaos-cluster-" + seed;
        int epochs = brokerEpochs;
        int perEpoch = TRAIN_LIMIT / BATCH;
        int total = epochs * perEpoch;
        Path trace = work.resolve("student-cluster.trace");
        Files.deleteIfExists(trace);
        deleteTree(work.resolve("student-cluster"));
        Process t = launchTeacher(run, teacher, epochs, List.of("--replication-factor", "3"));
        Process s = student(run, "cluster-" + seed, work.resolve("student-cluster"), trace);
        int leaderKills = 0;
        int controllerKills = 0;
        int stalled = 0;
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                KafkaClients.of(bootstrap()).admin())) {
            for (int r = 0; r < rounds; r++) {
                for (boolean controller : new boolean[] {false, true}) {
                    long fromT = committed(run);
                    long fromS = Math.max(0, lastStep(trace));
                    waitFor(() -> !t.isAlive() || committed(run) >= fromT + 8, DEADLINE);
                    waitFor(() -> !s.isAlive() || lastStep(trace) >= fromS + 8, DEADLINE);
                    if (!t.isAlive() || !s.isAlive()) {
                        log("cluster fault not injected: teacher alive %s, student alive %s", t.isAlive(), s.isAlive());
                        break;
                    }
                    int victim = controller
                            ? admin.describeMetadataQuorum().quorumInfo().get(30, TimeUnit.SECONDS).leaderId()
                            : admin.describeTopics(List.of(run + ".features")).allTopicNames().get(30, TimeUnit.SECONDS)
                                    .get(run + ".features").partitions().get(0).leader().id();
                    kill9(nodes[victim - 1]);
                    if (controller) {
                        controllerKills++;
                    } else {
                        leaderKills++;
                    }
                    log("cluster: kill -9 of node %d (%s)", victim, controller ? "controller leader"
                            : "leader of " + run + ".features-0");
                    long atKill = Math.max(0, lastStep(trace));
                    long tAtKill = committed(run);
                    boolean moved = waitFor(() -> !s.isAlive() || lastStep(trace) >= atKill + 8, DEADLINE)
                            && waitFor(() -> !t.isAlive() || committed(run) > tAtKill, DEADLINE);
                    log("cluster: teacher and student %s with node %d down", moved ? "carried on" : "STALLED", victim);
                    stalled += moved ? 0 : 1;
                    startNode(victim - 1, false);
                    awaitNode(victim - 1);
                    boolean isr = waitFor(() -> {
                        try {
                            return admin.describeTopics(List.of(run + ".features")).allTopicNames()
                                    .get(10, TimeUnit.SECONDS).get(run + ".features").partitions().get(0).isr()
                                    .size() == 3;
                        } catch (Exception e) {
                            return false;
                        }
                    }, DEADLINE);
                    log("cluster: node %d back, in sync again: %s", victim, isr);
                }
            }
        }
        int crashes = (awaitExit(t, "teacher on the cluster") ? 0 : 1)
                + (awaitExit(s, "student on the cluster") ? 0 : 1);
        Map<String, Integer> seen = readCommitted(run, total);
        int lost = lost(seen, epochs, perEpoch);
        int dup = duplicates(seen);
        StepTrace.Replay rep = StepTrace.replay(trace);
        int sLost = rep.missing(1, epochs, perEpoch).size();
        int sDup = rep.duplicates();
        row("three-broker cluster (RF 3, min.insync.replicas 2): kill -9 of the features partition's leader, restarted",
                leaderKills, lost + sLost, dup + sDup, crashes);
        row("three-broker cluster (RF 3, min.insync.replicas 2): kill -9 of the controller leader, restarted",
                controllerKills, lost + sLost, dup + sDup, crashes);
        bootstrapOverride = null;
        return lost + dup + sLost + sDup + crashes + stalled + (leaderKills + controllerKills < 2 * rounds ? 1 : 0);
    }

    private Path teacherModel() throws IOException {
        Path dir = work.resolve("teacher");
        if (!Files.exists(dir.resolve(DjlFeatureModel.PARAMS_FILE))) {
            DatasetRef data = new DatasetRef("fashion-mnist", 1.0, TRAIN_LIMIT, 1);
            try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "fashion-mnist",
                    InputNormalization.forDataset(data.train()))) {
                m.save(dir); // untrained: the faults, not the accuracy, are under test
            }
        }
        return dir;
    }

    private Process teacher(String run, Path model, int epochs, String name) throws IOException {
        return launchTeacher(run, model, epochs, List.of());
    }

    private Process launchTeacher(String run, Path model, int epochs, List<String> extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("teacher", "--run", run, "--bootstrap-servers", bootstrap(),
                "--teacher", model.toString(), "--train-limit", "" + TRAIN_LIMIT, "--epochs", "" + epochs,
                "--batch-size", "" + BATCH, "--batches-per-item", "4", "--progress-interval", "0",
                "--instance-id", "chaos-teacher", "--transaction-timeout", "PT30S"));
        if (sessionTimeoutMs > 0) {
            Path props = work.resolve("teacher-client.properties");
            Files.writeString(props, "session.timeout.ms=" + sessionTimeoutMs + "\nheartbeat.interval.ms="
                    + Math.max(500, sessionTimeoutMs / 3) + "\n");
            args.addAll(List.of("--kafka-config", props.toString()));
        }
        args.addAll(extra);
        return launch("teacher-" + run, java(args.toArray(String[]::new)));
    }

    private Process student(String run, String group, Path dir, Path trace) throws IOException {
        return launch("student-" + group, java("student", "--run", run, "--group", group, "--bootstrap-servers",
                bootstrap(), "--checkpoint-dir", dir.toString(), "--checkpoint-every", "" + CHECKPOINT_EVERY,
                "--progress-interval", "0", "--idle-timeout", "PT5M", "--trace", trace.toString()));
    }

    private static void kill9(Process p) throws InterruptedException {
        p.destroyForcibly(); // SIGKILL on Linux
        p.waitFor(30, TimeUnit.SECONDS);
    }

    private boolean awaitExit(Process p, String what) throws InterruptedException {
        if (!p.waitFor(RUN_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            log("%s did not finish within %s: killed", what, RUN_DEADLINE);
            kill9(p);
            return false;
        }
        if (p.exitValue() != 0) {
            log("%s exited %d (see %s)", what, p.exitValue(), work.resolve("logs"));
        }
        return p.exitValue() == 0;
    }

    // ---------------------------------------------------------------- verification

    /** The last stable offset of the run's features topic (summed over partitions): for pacing kills. */
    private long committed(String run) {
        return committedOr(run, 0);
    }

    private long committedOr(String run, long fallback) {
        Map<String, Object> cfg = KafkaClients.of(bootstrap()).consumer(null, "chaos-probe");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cfg.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            var parts = c.partitionsFor(run + ".features", Duration.ofSeconds(3));
            if (parts == null || parts.isEmpty()) {
                return fallback;
            }
            List<TopicPartition> tps = parts.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            // the last stable offset: it moves at each committed work item (markers take offsets too)
            return c.endOffsets(tps, Duration.ofSeconds(3)).values().stream().mapToLong(Long::longValue).sum();
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    /** (epoch/batch) key → how often a read_committed reader sees it, read to the last stable offset. */
    private Map<String, Integer> readCommitted(String run, int expected) {
        Map<String, Object> cfg = KafkaClients.of(bootstrap()).consumer(null, "chaos-verifier");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> seen = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg)) {
            List<TopicPartition> tps = c.partitionsFor(run + ".features", Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (end.entrySet().stream().anyMatch(e -> c.position(e.getKey()) < e.getValue())
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    seen.merge(r.key(), 1, Integer::sum);
                }
            }
        }
        log("read_committed reader: %d distinct batches of %d, %d records", seen.size(), expected,
                seen.values().stream().mapToInt(Integer::intValue).sum());
        return seen;
    }

    private static int lost(Map<String, Integer> seen, int epochs, int perEpoch) {
        int lost = 0;
        for (int e = 0; e < epochs; e++) {
            for (int b = 0; b < perEpoch; b++) {
                lost += seen.containsKey(e + "/" + b) ? 0 : 1;
            }
        }
        return lost;
    }

    private static int duplicates(Map<String, Integer> seen) {
        return seen.values().stream().mapToInt(n -> n - 1).sum();
    }

    private static boolean sameParams(Path a, Path b) {
        Checkpoint x = new CheckpointStore(a, 1).latestValid().orElseThrow();
        Checkpoint y = new CheckpointStore(b, 1).latestValid().orElseThrow();
        if (!x.tensors().keySet().equals(y.tensors().keySet())) {
            return false;
        }
        return x.tensors().entrySet().stream()
                .allMatch(e -> e.getValue().buffer().equals(y.tensors().get(e.getKey()).buffer()));
    }

    private static long startOf(Path trace, int n, Process p) throws InterruptedException {
        long[] s = {-1};
        waitFor(() -> {
            if (!p.isAlive()) {
                return true;
            }
            List<String> starts = lines(trace).stream().filter(l -> l.startsWith("start ")).toList();
            if (starts.size() >= n) {
                s[0] = Long.parseLong(starts.get(n - 1).substring(6).trim());
                return true;
            }
            return false;
        }, Duration.ofSeconds(120));
        return s[0];
    }

    private static long lastStep(Path trace) {
        List<String> l = lines(trace);
        for (int i = l.size() - 1; i >= 0; i--) {
            String[] f = l.get(i).split(" ");
            if (f[0].equals("step") && f.length == 5) {
                return Long.parseLong(f[1]);
            }
            if (f[0].equals("start") && f.length == 2) {
                return Long.parseLong(f[1]);
            }
        }
        return -1;
    }

    private static List<String> lines(Path f) {
        try {
            return Files.exists(f) ? Files.readAllLines(f, StandardCharsets.US_ASCII) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean waitFor(BooleanSupplier cond, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return cond.getAsBoolean();
    }

    private static String describe(Map<String, Integer> where) {
        List<String> parts = new ArrayList<>();
        where.forEach((k, v) -> parts.add(v + " " + k));
        return String.join(", ", parts);
    }

    private void row(String fault, int injections, int lost, int dup, int crashes) {
        String r = "| " + fault + " | " + injections + " | " + lost + " | " + dup + " | " + crashes + " | `" + command
                + "` |";
        rows.add(r);
        System.out.println(r);
    }

    private static void log(String fmt, Object... args) {
        System.out.printf("[chaos] " + fmt + "%n", args);
        System.out.flush();
    }
}
