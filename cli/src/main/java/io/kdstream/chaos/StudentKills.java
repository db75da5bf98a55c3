package io.kdstream.chaos;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.kdstream.process.ChildProcess;
import io.kdstream.student.StepTrace;

/**
 * kill -9 of the student at random points (mid-step, mid-checkpoint, before the commit),
 * restarted each time, on the run {@link TeacherKills} published; its final parameters are
 * compared with those of an uninterrupted student of the same run.
 */
final class StudentKills implements Scenario {

    private final ChaosRig rig;
    private final int kills;
    private final int epochs;

    StudentKills(ChaosRig rig, int kills, int epochs) {
        this.rig = rig;
        this.kills = kills;
        this.epochs = epochs;
    }

    @Override
    public int run() throws Exception {
        String run = TeacherKills.run(rig);
        int crashes = 0;
        Path refDir = rig.work.resolve("student-ref");
        Path refTrace = rig.work.resolve("student-ref.trace");
        crashes += rig.awaitExit(rig.student(run, "ref-" + rig.seed, refDir, refTrace), "uninterrupted student") ? 0 : 1;

        Path dir = rig.work.resolve("student-killed");
        Path trace = rig.work.resolve("student-killed.trace");
        int injected = 0;
        for (int k = 0; k <= kills; k++) {
            ChildProcess s = rig.student(run, "killed-" + rig.seed, dir, trace);
            if (k == kills) {
                crashes += rig.awaitExit(s, "student after kills") ? 0 : 1;
                break;
            }
            long from = ExactlyOnceAudit.startOf(trace, k + 1, s);
            int ahead = 1 + rig.random.nextInt(3 * ChaosRig.CHECKPOINT_EVERY);
            ChaosRig.waitFor(() -> !s.isAlive() || ExactlyOnceAudit.lastStep(trace) >= from + ahead, ChaosRig.DEADLINE);
            Thread.sleep(rig.random.nextInt(40)); // a step is ~10-30 ms: this moves the kill inside one
            if (!s.isAlive()) {
                crashes++;
                ChaosRig.log("student %d exited %d before its kill", k, s.exitValue());
                continue;
            }
            s.kill();
            injected++;
        }
        StepTrace.Replay r = StepTrace.replay(trace);
        StepTrace.Replay ref = StepTrace.replay(refTrace);
        ExactlyOnceAudit.Tally trained = ExactlyOnceAudit.trained(r, epochs);
        Map<String, Integer> where = new TreeMap<>();
        r.interruptions().forEach(i -> where.merge(i.where(ChaosRig.CHECKPOINT_EVERY), 1, Integer::sum));
        boolean sameOrder = r.surviving().equals(ref.surviving());
        boolean sameParams = ExactlyOnceAudit.sameParams(refDir, dir);
        ChaosRig.log("student kills: %d, where: %s, steps rolled back: %d, torn lines: %d, contiguous: %s, same batch "
                + "order as uninterrupted: %s, final parameters bit-equal to uninterrupted: %s", injected, where,
                r.rolledBack(), r.torn(), r.contiguous(), sameOrder, sameParams);
        rig.row("student-trainer kill -9 at random points (" + describe(where) + "; " + r.rolledBack()
                + " steps rolled back and retrained), restarted; final parameters "
                + (sameParams ? "bit-equal to" : "DIFFER from") + " an uninterrupted run", injected, trained.lost(),
                trained.duplicated(), crashes);
        return trained.faults() + crashes + (sameParams && r.contiguous() ? 0 : 1) + (injected < kills ? 1 : 0);
    }

    private static String describe(Map<String, Integer> where) {
        List<String> parts = new ArrayList<>();
        where.forEach((k, v) -> parts.add(v + " " + k));
        return String.join(", ", parts);
    }
}
