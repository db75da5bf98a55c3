package io.kdstream.chaos;

import java.nio.file.Path;
import java.util.List;

import io.kdstream.process.ChildProcess;

/**
 * kill -9 of the teacher at random points across work items, restarted each time, until it
 * finishes. With no kills it just publishes the run that {@link StudentKills} trains on.
 */
final class TeacherKills implements Scenario {

    private final ChaosRig rig;
    private final Path model;
    private final int kills;
    private final int epochs;

    TeacherKills(ChaosRig rig, Path model, int kills, int epochs) {
        this.rig = rig;
        this.model = model;
        this.kills = kills;
        this.epochs = epochs;
    }

    /** The run it publishes. */
    static String run(ChaosRig rig) {
        return "chaos-teacher-" + rig.seed;
    }

    @Override
    public int run() throws Exception {
        String run = run(rig);
        int total = epochs * ChaosRig.PER_EPOCH;
        int crashes = 0;
        int injected = 0;
        for (int k = 0; k <= kills; k++) {
            ChildProcess t = rig.teacher(run, model, epochs, List.of());
            if (k == kills) {
                crashes += rig.awaitExit(t, "teacher " + k) ? 0 : 1;
                break;
            }
            long before = rig.audit.lastStableOffset(run);
            int ahead = 1 + rig.random.nextInt(10);
            boolean due = ChaosRig.waitFor(() -> !t.isAlive() || rig.audit.lastStableOffset(run) >= before + ahead,
                    ChaosRig.DEADLINE);
            Thread.sleep(rig.random.nextInt(800)); // land anywhere inside a work item
            if (!t.isAlive()) {
                crashes += t.exitValue() == 0 ? 0 : 1;
                ChaosRig.log("teacher %d exited %d before its kill (last stable offset %d, %d batches planned)", k,
                        t.exitValue(), rig.audit.lastStableOffset(run), total);
                if (t.exitValue() == 0) {
                    break; // finished early: the run is published
                }
                continue;
            }
            if (!due) {
                ChaosRig.log("teacher %d made no progress in %s", k, ChaosRig.DEADLINE);
            }
            t.kill();
            injected++;
            ChaosRig.log("teacher kill %d at last stable offset %d (%d batches planned)", injected,
                    rig.audit.lastStableOffset(run), total);
        }
        ExactlyOnceAudit.Tally delivered = rig.audit.delivered(run, epochs);
        if (kills > 0) {
            rig.row("teacher-producer kill -9 at random points across work items, restarted (single broker)", injected,
                    delivered.lost(), delivered.duplicated(), crashes);
        } else {
            ChaosRig.log("teacher run (no kills) for the student scenario: %d lost, %d duplicated, %d crashes",
                    delivered.lost(), delivered.duplicated(), crashes);
        }
        return delivered.faults() + crashes + (injected < kills ? 1 : 0);
    }
}
