package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.student.StepTrace;

/**
 * The chaos table's "0 lost, 0 duplicated" comes from {@link ExactlyOnceAudit}: here it meets
 * student traces whose faults are known, written line by line as {@code --trace} writes them, and
 * must find every loss and every duplicate, not be fooled by order or by steps a crash rolled back.
 */
class ExactlyOnceAuditTest {

    private static final int EPOCHS = 2;
    private static final int PER_EPOCH = ChaosRig.PER_EPOCH;

    @TempDir
    Path tmp;

    @Test
    void aCleanRunWithACrashAndRollbackHasNoFaults() throws IOException {
        List<String> keys = grid();
        Trace t = new Trace().start(0);
        t.steps(keys.subList(0, 12)).checkpoint(10);
        t.start(10); // steps 11 and 12 died with the process: rolled back, then trained again
        t.steps(keys.subList(10, keys.size()));
        assertThat(audit(t)).isEqualTo(new ExactlyOnceAudit.Tally(0, 0));
        assertThat(StepTrace.replay(t.write()).rolledBack()).isEqualTo(2);
    }

    @Test
    void findsEachLostBatchIncludingOneOnlyARolledBackStepTrained() throws IOException {
        List<String> keys = grid();
        Trace t = new Trace().start(0);
        t.steps(keys.subList(0, 12)).checkpoint(10);
        t.start(10);
        // resumed past batch 11 (index 11): trained only by a rolled-back step, so it is lost
        t.steps(keys.subList(10, 11));
        List<String> rest = new ArrayList<>(keys.subList(12, keys.size()));
        rest.remove("1/7"); // and one batch never arrived at all
        t.steps(rest);
        assertThat(audit(t)).isEqualTo(new ExactlyOnceAudit.Tally(2, 0));
    }

    @Test
    void findsEachDuplicateIncludingOneAcrossARestart() throws IOException {
        List<String> keys = grid();
        Trace t = new Trace().start(0);
        t.steps(keys.subList(0, 10)).checkpoint(10);
        t.start(10);
        // the checkpoint's offsets were stale: batches 8 and 9 come again and are trained again
        t.steps(keys.subList(8, keys.size()));
        t.steps(List.of("1/3")); // and one batch delivered twice later on
        assertThat(audit(t)).isEqualTo(new ExactlyOnceAudit.Tally(0, 3));
    }

    @Test
    void orderDoesNotMatterButALossHiddenBehindADuplicateIsFound() throws IOException {
        List<String> shuffled = grid();
        Collections.shuffle(shuffled, new Random(7));
        assertThat(audit(new Trace().start(0).steps(shuffled)))
                .as("every batch once, in another order").isEqualTo(new ExactlyOnceAudit.Tally(0, 0));

        // the same number of steps as a clean run: a count would pass it
        List<String> swapped = new ArrayList<>(shuffled);
        swapped.set(swapped.indexOf("0/5"), "1/9");
        assertThat(audit(new Trace().start(0).steps(swapped))).isEqualTo(new ExactlyOnceAudit.Tally(1, 1));
    }

    @Test
    void aTornLastLineIsNotAStep() throws IOException {
        List<String> keys = grid();
        Trace t = new Trace().start(0).steps(keys.subList(0, keys.size() - 1));
        Path f = t.write();
        Files.writeString(f, "step " + keys.size() + " 0 1", java.nio.file.StandardOpenOption.APPEND); // killed mid-write
        assertThat(ExactlyOnceAudit.trained(f, EPOCHS)).isEqualTo(new ExactlyOnceAudit.Tally(1, 0));
    }

    private ExactlyOnceAudit.Tally audit(Trace t) throws IOException {
        return ExactlyOnceAudit.trained(t.write(), EPOCHS);
    }

    /** Every "epoch/batch" of one pass, in order. */
    private static List<String> grid() {
        List<String> keys = new ArrayList<>();
        for (int e = 0; e < EPOCHS; e++) {
            for (int b = 0; b < PER_EPOCH; b++) {
                keys.add(e + "/" + b);
            }
        }
        return keys;
    }

    /** A trace in {@code --trace}'s line format; steps are numbered on from the last start. */
    private final class Trace {
        private final StringBuilder lines = new StringBuilder();
        private long step;

        Trace start(long from) {
            lines.append("start ").append(from).append('\n');
            step = from;
            return this;
        }

        Trace steps(List<String> keys) {
            for (String k : keys) {
                String[] eb = k.split("/");
                lines.append("step ").append(++step).append(" 0 ").append(eb[0]).append(' ').append(eb[1]).append('\n');
            }
            return this;
        }

        Trace checkpoint(long at) {
            lines.append("checkpoint ").append(at).append('\n');
            return this;
        }

        Path write() throws IOException {
            Path f = Files.createTempFile(tmp, "trace", ".txt");
            Files.writeString(f, lines);
            return f;
        }
    }
}
