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
        List<String> bare = new ArrayList<>();
        walk(KdstreamCommand.commandLine().getCommandSpec(), cut, bare);
        assertThat(cut).as("description lines that stop mid-sentence").isEmpty();
        // a shared option whose text is a service's resource bundle key (service.WorkerOptions) prints none without it
        assertThat(bare).as("options without a description").isEmpty();
    }

    @Test
    void theDemoListsEveryStudentArchitecture() {
        OptionSpec arch = KdstreamCommand.commandLine().getSubcommands().get("demo").getCommandSpec()
                .findOption("--student-arch");
        List<String> all = java.util.Arrays.stream(io.kdstream.model.Architecture.values())
                .map(io.kdstream.model.Architecture::id).toList();
        assertThat(String.join(" ", arch.description())).contains(String.join(", ", all));
    }

    /** A newcomer reads the commands in the order they need them, and where to go next. */
    @Test
    void theLauncherListsTheDemoFirstAndEndsWithWhereToReadNext() {
        CommandLine cmd = KdstreamCommand.commandLine();
        assertThat(List.copyOf(cmd.getSubcommands().keySet()).subList(0, 4))
                .containsExactly("demo", "teacher", "student", "runs");
        String help = cmd.getUsageMessage(CommandLine.Help.Ansi.OFF);
        List<String> lines = help.strip().lines().toList();
        assertThat(help).contains("Start with 'kdstream demo --quick'", "Read next: README.md", "docs/pytorch.md");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("Each command's options: kdstream COMMAND --help.");
    }

    /**
     * Every command suggests the option a user nearly typed (a letter missing), and an option of
     * another command points there: {@code student --epoch} said only "Unknown option".
     */
    @Test
    void everyCommandSuggestsTheOptionNearlyTyped() {
        List<String> silent = new ArrayList<>();
        suggestions(KdstreamCommand.commandLine(), silent);
        assertThat(silent).as("commands whose misspelt option got no suggestion").isEmpty();
        String epoch = usageError("student", "--run", "r", "--epoch", "3");
        assertThat(epoch).startsWith("kdstream student: Unknown option: '--epoch' (did you mean --replay-epochs? "
                + "other commands take ").contains("'kdstream teacher --epochs'");
    }

    private static void suggestions(CommandLine cmd, List<String> silent) {
        CommandSpec spec = cmd.getCommandSpec();
        OptionSpec option = spec.options().stream().filter(o -> o.longestName().length() > 5 && !o.usageHelp()
                && !o.versionHelp()).findFirst().orElse(null);
        if (option != null && !spec.name().equals("help")) {
            String typo = option.longestName().substring(0, option.longestName().length() - 1);
            List<String> args = new ArrayList<>();
            for (CommandSpec s = spec; s.parent() != null; s = s.parent()) {
                args.add(0, s.name());
            }
            args.add(typo);
            String err = usageError(args.toArray(String[]::new));
            if (!err.contains("did you mean " + option.longestName())) {
                silent.add(spec.qualifiedName() + " " + typo + ": " + err);
            }
        }
        cmd.getSubcommands().values().forEach(sub -> suggestions(sub, silent));
    }

    private static String usageError(String... args) {
        CommandLine cmd = KdstreamCommand.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        assertThat(cmd.execute(args)).as(String.join(" ", args)).isEqualTo(2);
        return err.toString().lines().findFirst().orElse("");
    }

    private static void walk(CommandSpec spec, List<String> cut, List<String> bare) {
        for (String line : spec.usageMessage().description()) {
            if (!whole(line)) {
                cut.add(spec.qualifiedName() + ": " + line);
            }
        }
        for (OptionSpec o : spec.options()) {
            if (String.join("", o.description()).isBlank()) {
                bare.add(spec.qualifiedName() + " " + o.longestName());
            }
            for (String line : o.description()) {
                if (!whole(line)) {
                    cut.add(spec.qualifiedName() + " " + o.longestName() + ": " + line);
                }
            }
        }
        spec.subcommands().values().forEach(sub -> walk(sub.getCommandSpec(), cut, bare));
    }

    private static boolean whole(String line) {
        String l = line.strip().replace("%n", "");
        return l.isEmpty() || l.endsWith(".") || l.endsWith(")") || l.endsWith(":") || l.endsWith("?");
    }
}
