package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.cli.KdstreamCommand;
import io.kdstream.config.CommandLines;
import picocli.CommandLine;

/** {@code kdstream chaos} refuses a run too short for the faults it plans, before it starts anything. */
class ChaosCommandTest {

    @TempDir
    Path tmp;

    @Test
    void faultsThatCannotEachHaveTheirSlotAreAUsageErrorBeforeAnythingStarts() {
        String[][] cases = {
            {"--cluster-kills", "30", "--broker-restarts", "0", "--broker-epochs", "1"},
            {"--cluster-kills", "0", "--broker-restarts", "11", "--broker-epochs", "1"},
        };
        String[] expected = {"--cluster-kills 30 (60 kills) on --broker-epochs 1: 60 faults need a run of at least 120 "
                + "batches", "--broker-restarts 11 (22 faults) on --broker-epochs 1: 22 faults need a run of at least 44 "
                + "batches"};
        for (int i = 0; i < cases.length; i++) {
            Path work = tmp.resolve("w" + i);
            CommandLine cmd = KdstreamCommand.commandLine();
            StringWriter err = new StringWriter();
            cmd.setErr(new PrintWriter(err, true));
            cmd.setOut(new PrintWriter(new StringWriter(), true));
            List<String> args = new ArrayList<>(List.of("chaos", "--work-dir", work.toString(), "--teacher-kills", "0",
                    "--student-kills", "0", "--seed", "1"));
            args.addAll(List.of(cases[i]));
            assertThat(CommandLines.execute(cmd, args.toArray(String[]::new))).as("%s", err).isEqualTo(2);
            assertThat(err.toString()).contains(expected[i]);
            assertThat(work).as("nothing started").doesNotExist();
        }
    }
}
