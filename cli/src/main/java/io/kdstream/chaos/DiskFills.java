package io.kdstream.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.kdstream.process.ChildProcess;

/**
 * The broker's log directory on a small tmpfs: mid-run, a filler file leaves 1–3 MiB free, so
 * the teacher's writes fill the disk within seconds. Kafka marks the directory failed and,
 * the only one gone, halts the broker. After 10–70 s the tmpfs is remounted 32 MiB larger and
 * the broker restarted on the same data; the teacher must have waited (not exited, nothing
 * committed lost) and finish the run with each (epoch, batch) exactly once. Needs root.
 */
final class DiskFills implements Scenario {

    private final ChaosRig rig;
    private final SingleBroker broker;
    private final Path model;
    private final int fills;
    private final int epochs;

    DiskFills(ChaosRig rig, SingleBroker broker, Path model, int fills, int epochs) {
        this.rig = rig;
        this.broker = broker;
        this.model = model;
        this.fills = fills;
        this.epochs = epochs;
    }

    @Override
    public int run() throws Exception {
        Path mnt = rig.work.resolve("kafka-tmpfs");
        Files.createDirectories(mnt);
        long sizeMiB = 64;
        String mounted = sh("mount", "-t", "tmpfs", "-o", "size=" + sizeMiB + "m", "tmpfs", mnt.toString());
        if (mounted != null) {
            ChaosRig.log("disk-fill scenario NOT run: cannot mount a tmpfs at %s (%s); it needs root", mnt, mounted);
            return 1;
        }
        String run = "chaos-disk-" + rig.seed;
        int injected = 0;
        int stalled = 0;
        int crashes = 0;
        Path teacherLog = rig.log("teacher-" + run);
        Files.deleteIfExists(teacherLog);
        Path brokerLog = rig.log("broker");
        List<String> outageLines = new ArrayList<>();
        try {
            broker.dataDir(mnt.resolve("kafka"));
            broker.start(true);
            ChildProcess t = rig.teacher(run, model, epochs, List.of());
            for (int f = 0; f < fills; f++) {
                long from = rig.audit.lastStableOffset(run);
                ChaosRig.waitFor(() -> !t.isAlive() || rig.audit.lastStableOffset(run) >= from + 8, ChaosRig.DEADLINE);
                if (!t.isAlive()) {
                    ChaosRig.log("disk fill %d not injected: the teacher is not running", f + 1);
                    break;
                }
                long headroom = (1L << 20) + rig.random.nextInt(2 << 20);
                long avail = Files.getFileStore(mnt).getUsableSpace();
                long brokerMark = ChaosRig.utf8Lines(brokerLog).size();
                try (var out = Files.newOutputStream(mnt.resolve("filler-" + f))) {
                    byte[] block = new byte[1 << 20];
                    for (long left = avail - headroom; left > 0; left -= block.length) {
                        out.write(block, 0, (int) Math.min(block.length, left));
                    }
                } catch (IOException e) {
                    ChaosRig.log("disk fill %d: the broker's writes filled the disk before the filler did (%s)", f + 1, e);
                }
                long filledAt = System.nanoTime();
                ChaosRig.log("disk fill %d: %d KiB left free on the broker's log dir (%d MiB tmpfs)", f + 1,
                        headroom >> 10, sizeMiB);
                if (!broker.awaitExit(ChaosRig.DEADLINE)) {
                    ChaosRig.log("disk fill %d: the broker did not halt within %s", f + 1, ChaosRig.DEADLINE);
                    stalled++;
                    break;
                }
                injected++;
                List<String> brokerLines = ChaosRig.utf8Lines(brokerLog);
                String halted = brokerLines.subList((int) Math.min(brokerMark, brokerLines.size()), brokerLines.size())
                        .stream()
                        .filter(l -> l.contains("No space left") || l.contains("Shutdown broker")
                                || l.contains("log directory has failed"))
                        .map(l -> l.length() > 200 ? l.substring(0, 200) : l).distinct().limit(3)
                        .reduce("", (a, b) -> a + "\n    " + b);
                ChaosRig.log("disk fill %d: broker exited %d %.1f s after the fill; its log:%s", f + 1,
                        broker.exitValue(), (System.nanoTime() - filledAt) / 1e9, halted);
                long teacherMark = ChaosRig.utf8Lines(teacherLog).size();
                long down = 10_000 + rig.random.nextInt(60_000);
                Thread.sleep(down);
                sizeMiB += 32;
                String grown = sh("mount", "-o", "remount,size=" + sizeMiB + "m", mnt.toString());
                if (grown != null) {
                    throw new IllegalStateException("cannot remount " + mnt + " larger: " + grown);
                }
                boolean alive = t.isAlive();
                long atRestart = rig.audit.lastStableOffset(run);
                broker.start(false);
                long restartedAt = System.nanoTime();
                boolean moved = ChaosRig.waitFor(() -> !t.isAlive() || rig.audit.lastStableOffset(run) > atRestart,
                        ChaosRig.DEADLINE) && t.isAlive();
                List<String> during = ChaosRig.utf8Lines(teacherLog);
                during = during.subList((int) Math.min(teacherMark, during.size()), during.size());
                during.stream().filter(l -> l.contains("Kafka not answering") || l.contains("still waiting")
                        || l.contains("reachable again")).forEach(outageLines::add);
                ChaosRig.log("disk fill %d: down %.0f s, teacher %s, %d log lines meanwhile; %s %.1f s after the broker "
                        + "came back (tmpfs now %d MiB)", f + 1, down / 1000.0, alive ? "waited" : "EXITED",
                        during.size(), moved ? "teacher committed again" : "teacher did NOT commit again",
                        (System.nanoTime() - restartedAt) / 1e9, sizeMiB);
                stalled += moved ? 0 : 1;
            }
            crashes += rig.awaitExit(t, "teacher through disk fills") ? 0 : 1;
            ExactlyOnceAudit.Tally delivered = rig.audit.delivered(run, epochs);
            ChaosRig.log("disk fills: %d; teacher's outage lines:%s", injected, outageLines.stream()
                    .map(l -> "\n    " + (l.length() > 240 ? l.substring(0, 240) : l)).reduce("", String::concat));
            rig.row("single broker, log dir on a 64 MiB tmpfs filled mid-run (Kafka fails the dir and halts), down "
                    + "10–70 s, remounted 32 MiB larger and restarted; teacher running", injected, delivered.lost(),
                    delivered.duplicated(), crashes);
            return delivered.faults() + crashes + stalled + (injected < fills ? 1 : 0);
        } finally {
            broker.stop();
            broker.dataDir(rig.work.resolve("kafka"));
            String un = sh("umount", mnt.toString());
            if (un != null) {
                ChaosRig.log("could not unmount %s: %s", mnt, un);
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
}
