package io.kdstream.chaos;

import java.nio.file.Path;
import java.util.List;

import io.kdstream.process.ChildProcess;

/**
 * SIGTERM, then kill -9, of the single broker while a teacher and a student run; restarted each
 * time. The faults land at points spread over the run's batches ({@link KillSchedule}), by the
 * student's trace.
 */
final class BrokerRestarts implements Scenario {

    private final ChaosRig rig;
    private final SingleBroker broker;
    private final Path model;
    private final int cycles;
    private final int epochs;

    BrokerRestarts(ChaosRig rig, SingleBroker broker, Path model, int cycles, int epochs) {
        this.rig = rig;
        this.broker = broker;
        this.model = model;
        this.cycles = cycles;
        this.epochs = epochs;
    }

    @Override
    public int run() throws Exception {
        String run = "chaos-broker-" + rig.seed;
        Path trace = rig.work.resolve("student-broker.trace");
        ChildProcess t = rig.teacher(run, model, epochs, List.of("--max-lead-batches", "" + ChaosRig.MAX_LEAD));
        ChildProcess s = rig.student(run, "broker-" + rig.seed, rig.work.resolve("student-broker"), trace);
        KillSchedule schedule = KillSchedule.evenly(2 * cycles, (long) epochs * ChaosRig.PER_EPOCH, rig.random);
        ChaosRig.log("broker: %d faults (SIGTERM, kill -9, alternating) %s", schedule.size(), schedule);
        int injected = 0;
        int stalled = 0;
        for (int k = 0; k < schedule.size(); k++) {
            boolean graceful = k % 2 == 0;
            if (!schedule.awaitStudent(k, trace, s)) {
                break;
            }
            long atFault = Math.max(0, ExactlyOnceAudit.lastStep(trace));
            if (graceful) {
                broker.terminate();
            } else {
                broker.kill();
            }
            injected++;
            long down = 2000 + rig.random.nextInt(4000);
            ChaosRig.log("broker %s (fault %d) with the student at batch %d of %d (due at %d), teacher %s; down for %d ms",
                    graceful ? "SIGTERM" : "kill -9", injected, atFault, schedule.batches(), schedule.point(k),
                    t.isAlive() ? "publishing" : "done", down);
            Thread.sleep(down);
            broker.start(false);
            long t0 = System.nanoTime();
            long stepAtRestart = Math.max(0, ExactlyOnceAudit.lastStep(trace));
            if (!ChaosRig.waitFor(() -> !s.isAlive() || ExactlyOnceAudit.lastStep(trace) > stepAtRestart,
                    ChaosRig.DEADLINE)) {
                stalled++;
            }
            ChaosRig.log("student trained again %.1f s after the broker came back", (System.nanoTime() - t0) / 1e9);
        }
        int crashes = (rig.awaitExit(t, "teacher through broker restarts") ? 0 : 1)
                + (rig.awaitExit(s, "student through broker restarts") ? 0 : 1);
        ExactlyOnceAudit.Tally delivered = rig.audit.delivered(run, epochs);
        ExactlyOnceAudit.Tally trained = ExactlyOnceAudit.trained(trace, epochs);
        ChaosRig.log("broker restarts: %d; teacher output lost %d dup %d; student lost %d dup %d; stalled %d", injected,
                delivered.lost(), delivered.duplicated(), trained.lost(), trained.duplicated(), stalled);
        ExactlyOnceAudit.Tally both = delivered.plus(trained);
        rig.row("single broker stopped (SIGTERM) and killed (kill -9) mid-run, restarted on the same data dir; "
                + "teacher and student running", injected, both.lost(), both.duplicated(), crashes);
        return both.faults() + crashes + stalled + (injected < 2 * cycles ? 1 : 0);
    }
}
