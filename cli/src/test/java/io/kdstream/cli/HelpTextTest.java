package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** {@code kdstream --help} and {@code -V} as a user reads them. */
class HelpTextTest {

    @Test
    void versionIsTheBuildsNotDev() {
        for (String[] args : List.of(new String[] {"-V"}, new String[] {"student", "-V"})) {
            CommandLine cmd = KdstreamCommand.commandLine();
            StringWriter out = new StringWriter();
            cmd.setOut(new PrintWriter(out, true));
            assertThat(cmd.execute(args)).isZero();
            assertThat(out.toString()).matches("kdstream \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R");
        }
    }

    /** picocli prints each element as its own line and the first in the command list: none may stop mid-sentence. */
    @Test
    void everyDescriptionParagraphIsWhole() {
        List<String> cut = new ArrayList<>();
        walk(KdstreamCommand.commandLine().getCommandSpec(), cut);
        assertThat(cut).as("description lines that stop mid-sentence").isEmpty();
    }

    @Test
    void theDemoListsEveryStudentArchitecture() {
        OptionSpec arch = KdstreamCommand.commandLine().getSubcommands().get("demo").getCommandSpec()
                .findOption("--student-arch");
        List<String> all = java.util.Arrays.stream(io.kdstream.model.Architecture.values())
                .map(io.kdstream.model.Architecture::id).toList();
        assertThat(String.join(" ", arch.description())).contains(String.join(", ", all));
    }

    private static void walk(CommandSpec spec, List<String> cut) {
        for (String line : spec.usageMessage().description()) {
            if (!whole(line)) {
                cut.add(spec.qualifiedName() + ": " + line);
            }
        }
        for (OptionSpec o : spec.options()) {
            for (String line : o.description()) {
                if (!whole(line)) {
                    cut.add(spec.qualifiedName() + " " + o.longestName() + ": " + line);
                }
            }
        }
        spec.subcommands().values().forEach(sub -> walk(sub.getCommandSpec(), cut));
    }

    private static boolean whole(String line) {
        String l = line.strip().replace("%n", "");
        return l.isEmpty() || l.endsWith(".") || l.endsWith(")") || l.endsWith(":") || l.endsWith("?");
    }
}
