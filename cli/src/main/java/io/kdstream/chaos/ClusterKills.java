package io.kdstream.chaos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.admin.Admin;

import io.kdstream.kafka.KafkaClients;
import io.kdstream.process.ChildProcess;

/**
 * Three KRaft nodes (broker and controller each) on loopback, topics with replication factor 3
 * and min.insync.replicas 2; kill -9 of the leader of the features partition, then of the
 * controller leader, alternating, each restarted once the others carried on without it. The kills
 * land at points of the run spread evenly over its batches ({@link KillSchedule}), read from the
 * student's trace, so a short run gets every kill it plans as a long one does.
 */
final class ClusterKills implements Scenario {

    /** Batches the student must train with a node down for the kill to count as ridden out (two work items). */
    static final int CARRY_ON = 8;

    private final ChaosRig rig;
    private final BrokerCluster cluster;
    private final Path model;
    private final int rounds;
    private final int epochs;

    ClusterKills(ChaosRig rig, BrokerCluster cluster, Path model, int rounds, int epochs) {
        this.rig = rig;
        this.cluster = cluster;
        this.model = model;
        this.rounds = rounds;
        this.epochs = epochs;
    }

    @Override
    public int run() throws Exception {
        cluster.start();
        ChaosRig.log("cluster: three nodes up at %s", cluster.bootstrap());
        rig.useKafka(cluster::bootstrap);
        String run = "chaos-cluster-" + rig.seed;
        Path trace = rig.work.resolve("student-cluster.trace");
        Files.deleteIfExists(trace);
        ChaosRig.deleteTree(rig.work.resolve("student-cluster"));
        ChildProcess t = rig.teacher(run, model, epochs, List.of("--replication-factor", "3",
                "--max-lead-batches", "" + ChaosRig.MAX_LEAD));
        ChildProcess s = rig.student(run, "cluster-" + rig.seed, rig.work.resolve("student-cluster"), trace);
        // progress is what the student trained: it is what ends the run, and the teacher is at most its lead ahead
        KillSchedule schedule = KillSchedule.evenly(2 * rounds, (long) epochs * ChaosRig.PER_EPOCH, rig.random);
        ChaosRig.log("cluster: %d kills (partition leader, controller leader, alternating) %s", schedule.size(),
                schedule);
        LongSupplier trained = () -> ExactlyOnceAudit.lastStep(trace);
        int leaderKills = 0;
        int controllerKills = 0;
        int stalled = 0;
        try (Admin admin = Admin.create(KafkaClients.of(rig.bootstrap()).admin())) {
            for (int k = 0; k < schedule.size(); k++) {
                boolean controller = k % 2 == 1;
                if (!schedule.awaitStudent(k, trace, s)) {
                    break;
                }
                int victim = controller
                        ? admin.describeMetadataQuorum().quorumInfo().get(30, TimeUnit.SECONDS).leaderId()
                        : admin.describeTopics(List.of(run + ".features")).allTopicNames().get(30, TimeUnit.SECONDS)
                                .get(run + ".features").partitions().get(0).leader().id();
                long atKill = Math.max(0, trained.getAsLong());
                long tAtKill = rig.audit.lastStableOffset(run);
                cluster.kill(victim);
                if (controller) {
                    controllerKills++;
                } else {
                    leaderKills++;
                }
                ChaosRig.log("cluster kill %d: kill -9 of node %d (%s) with the student at batch %d of %d (due at %d), "
                        + "teacher %s", k + 1, victim, controller ? "controller leader" : "leader of " + run
                        + ".features-0", atKill, schedule.batches(), schedule.point(k), t.isAlive()
                        ? "publishing (last stable offset " + tAtKill + ")" : "done");
                boolean moved = ChaosRig.waitFor(() -> !s.isAlive() || trained.getAsLong() >= atKill + CARRY_ON,
                        ChaosRig.DEADLINE)
                        && ChaosRig.waitFor(() -> !t.isAlive() || rig.audit.lastStableOffset(run) > tAtKill,
                        ChaosRig.DEADLINE);
                ChaosRig.log("cluster: teacher and student %s with node %d down", moved ? "carried on" : "STALLED",
                        victim);
                stalled += moved ? 0 : 1;
                cluster.restart(victim);
                boolean isr = ChaosRig.waitFor(() -> {
                    try {
                        return admin.describeTopics(List.of(run + ".features")).allTopicNames()
                                .get(10, TimeUnit.SECONDS).get(run + ".features").partitions().get(0).isr()
                                .size() == 3;
                    } catch (Exception e) {
                        return false;
                    }
                }, ChaosRig.DEADLINE);
                ChaosRig.log("cluster: node %d back, in sync again: %s", victim, isr);
            }
        }
        int crashes = (rig.awaitExit(t, "teacher on the cluster") ? 0 : 1)
                + (rig.awaitExit(s, "student on the cluster") ? 0 : 1);
        ExactlyOnceAudit.Tally both = rig.audit.delivered(run, epochs).plus(ExactlyOnceAudit.trained(trace, epochs));
        rig.row("three-broker cluster (RF 3, min.insync.replicas 2): kill -9 of the features partition's leader, restarted",
                leaderKills, both.lost(), both.duplicated(), crashes);
        rig.row("three-broker cluster (RF 3, min.insync.replicas 2): kill -9 of the controller leader, restarted",
                controllerKills, both.lost(), both.duplicated(), crashes);
        return both.faults() + crashes + stalled + (leaderKills + controllerKills < 2 * rounds ? 1 : 0);
    }
}
