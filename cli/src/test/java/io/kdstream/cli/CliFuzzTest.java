package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import io.kdstream.config.Bounded;
import io.kdstream.config.Choice;
import io.kdstream.config.CommandLines;
import io.kdstream.config.PathOption;
import io.kdstream.duration.DurationConverter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Every option of every command (walked from picocli's model, so a new option is covered the day
 * it is added), fed each kind of bad value its type admits: wrong type, out of range, unknown
 * choice, missing file, a file where a directory belongs, an unwritable directory; and per command
 * an unknown option and an unknown {@code --config} key. Each must give exit code 2 and exactly one
 * line naming the option plus the "Try ... --help" line, no exception text. In process;
 * the commands' own code is replaced by a sentinel that fails the case, so nothing here can reach
 * Kafka, the disk beyond the probes, or the engine.
 */
class CliFuzzTest {

    private static final int NOT_REFUSED = 99;
    private static final Set<Class<?>> NUMBERS = Set.of(int.class, Integer.class, long.class, Long.class,
            short.class, Short.class, double.class, Double.class, float.class, Float.class);

    @TempDir
    static Path tmp;

    private static Path existingFile;
    private static Path existingDir;
    private static Path unwritableDir;
    private static Path model;
    private static Path badConfig;
    private static final AtomicInteger fresh = new AtomicInteger();

    private record Case(String name, List<String> args, String option, String mustMention) {
    }

    @BeforeAll
    static void files() throws IOException {
        existingFile = Files.writeString(tmp.resolve("a-file.txt"), "x");
        existingDir = Files.createDirectories(tmp.resolve("a-dir"));
        model = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(model.resolve("model.json"), "{}");
        badConfig = Files.writeString(tmp.resolve("bad.properties"), "alpah=2\n");
        Path locked = Files.createDirectories(tmp.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        // root writes through permissions; /proc/self takes no new file even from root
        unwritableDir = Files.isWritable(locked) && Files.isDirectory(Path.of("/proc/self")) ? Path.of("/proc/self") : locked;
    }

    @TestFactory
    Stream<DynamicTest> everyBadValueOfEveryOptionIsOneLineAndExitCodeTwo() {
        List<Case> cases = new ArrayList<>();
        walk(KdstreamCommand.commandLine().getCommandSpec(), cases);
        assertThat(cases).as("the model walk found the commands' options").hasSizeGreaterThan(200);
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> refused(c)));
    }

    @Test
    void everyDurationOptionTakesTheOneDurationSyntax() {
        List<String> offenders = new ArrayList<>();
        forEachOption(KdstreamCommand.commandLine().getCommandSpec(), (spec, o) -> {
            if (o.type() == Duration.class && !(converter(o) instanceof DurationConverter)) {
                offenders.add(spec.qualifiedName() + " " + o.longestName());
            }
        });
        assertThat(offenders).isEmpty();
    }

    /** So that the out-of-range case covers a new numeric option too: it says its range, or is here. */
    @Test
    void everyNumericOptionDeclaresItsRange() {
        Set<String> anyValue = Set.of("--seed", "--whiten-seed");
        List<String> offenders = new ArrayList<>();
        forEachOption(KdstreamCommand.commandLine().getCommandSpec(), (spec, o) -> {
            Class<?> type = o.isMultiValue() && o.auxiliaryTypes().length > 0 ? o.auxiliaryTypes()[0] : o.type();
            if (NUMBERS.contains(type) && !(converter(o) instanceof Bounded) && !anyValue.contains(o.longestName())) {
                offenders.add(spec.qualifiedName() + " " + o.longestName());
            }
        });
        assertThat(offenders).as("numeric options without a Bounded converter").isEmpty();
    }

    @Test
    void theTableOfIssue26() throws IOException {
        Path ck = tmp.resolve("ck-table");
        Path alpah = Files.writeString(tmp.resolve("alpah.properties"), "alpah=2\n");
        String[] student = {"student", "--run", "r", "--group", "g", "--bootstrap-servers", "127.0.0.1:1"};
        assertThat(run(concat(student, "--checkpoint-dir", ck.toString(), "--config", alpah.toString())))
                .contains("unknown key 'alpah' (did you mean alpha?)");
        assertThat(run(concat(student, "--checkpoint-dir", existingFile.toString())))
                .contains("'--checkpoint-dir'", "is a file, not a directory");
        assertThat(run(concat(student, "--checkpoint-dir", ck.toString(), "--arch", "resnet50")))
                .contains("'--arch'", "'resnet50' is not one of resnet, cnn, mlp, vit, vit-pool");
        assertThat(run("demo", "--quick", "--student-arch", "foo")).contains("'--student-arch'", "vit-pool");
        assertThat(run("demo", "--seeds", "0")).contains("'--seeds'", "1 or more");
        assertThat(run(concat(student, "--checkpoint-dir", ck.toString(), "--lr", "-1"))).contains("'--lr'", "above 0");
        assertThat(run("demo", "--no-such-option")).startsWith("kdstream demo: Unknown option: '--no-such-option'");
        CommandLine accepted = sentinel();
        accepted.setErr(new PrintWriter(new StringWriter(), true));
        assertThat(CommandLines.execute(accepted, concat(student, "--checkpoint-dir", ck.toString(), "--kafka-timeout", "5s")))
                .as("--kafka-timeout 5s is accepted").isEqualTo(NOT_REFUSED);
        assertThat(Files.exists(ck)).as("nothing created by a refused command").isFalse();
    }

    /**
     * An option whose effect depends on another is refused where it would do nothing (issue 41):
     * one line naming it and why, exit 2, from the command line and from a {@code --config} file.
     */
    @Test
    void optionsThatWouldDoNothingAreRefused() throws IOException {
        Path pt = Files.writeString(tmp.resolve("teacher.pt"), "x");
        String[] student = {"student", "--run", "r", "--group", "g", "--bootstrap-servers", "127.0.0.1:1",
            "--checkpoint-dir", tmp.resolve("ck-rules").toString()};
        String[] teacher = {"teacher", "--run", "r", "--bootstrap-servers", "127.0.0.1:1", "--teacher", model.toString()};
        Path idx = Files.createDirectories(tmp.resolve("idx"));
        Files.write(idx.resolve("train-images-idx3-ubyte"), new byte[0]);
        Path folder = Files.createDirectories(tmp.resolve("folder/train/a"));
        String[][] refusedCases = {
            concat(teacher, "--dataset", idx.toString(), "--jpeg-decoder", "java"),
            concat(student, "--temperature", "4"),
            concat(student, "--gamma", "0", "--temperature", "4"),
            concat(student, "--student-outputs", "logits,features"),
            concat(student, "--validation-size", "500"),
            concat(student, "--eval-limit", "100"),
            concat(student, "--alpha", "0", "--projection", "linear"),
            concat(student, "--alpha", "0", "--feature-loss", "smooth_l1"),
            concat(student, "--alpha", "0", "--student-norm", "layer"),
            concat(student, "--alpha", "0", "--teacher-weight", "r=1"),
            concat(student, "--teacher-weight", "other=1"),
            concat(student, "--teacher-weight", "r=0"),
            concat(student, "--logits-from", "r"),
            concat(student, "--gamma", "1", "--logits-from", "other"),
            concat(teacher, "--whiten-samples", "100"),
            concat(teacher, "--norm", "batch", "--whiten-seed", "3"),
            concat(teacher, "--whiten-shrinkage", "0.1"),
            concat(teacher, "--teacher-outputs", "features"),
            {"teacher", "--run", "r", "--bootstrap-servers", "127.0.0.1:1", "--teacher", pt.toString(), "--teacher-outputs", "features", "--logits"},
        };
        for (String[] args : refusedCases) {
            String err = run(args);
            String option = java.util.Arrays.stream(args).filter(a -> a.startsWith("--")).reduce((a, b) -> b).orElseThrow();
            assertThat(err.lines().toList()).as(String.join(" ", args)).hasSize(2);
            assertThat(err).as(String.join(" ", args)).contains("'" + option + "' would do nothing: ");
        }
        Path temperature = Files.writeString(tmp.resolve("temperature.properties"), "temperature=4\n");
        assertThat(run(concat(student, "--config", temperature.toString())))
                .contains("'--temperature' would do nothing: it is logit distillation's temperature and --gamma is 0");

        String[][] acceptedCases = {
            concat(student, "--gamma", "0.5", "--temperature", "4"),
            concat(student, "--eval-split", "validation", "--validation-size", "500"),
            concat(student, "--eval-every", "50", "--eval-limit", "100"),
            concat(student, "--alpha", "0", "--gamma", "0"),
            concat(student, "--teacher-weight", "r=0.5"),
            concat(student, "--gamma", "0.5", "--logits-from", "r"),
            concat(student, "--gamma", "0.5", "--logits-from", "mean"),
            concat(teacher, "--norm", "whiten", "--whiten-samples", "100", "--whiten-seed", "3"),
            concat(teacher, "--dataset", folder.getParent().getParent().toString(), "--jpeg-decoder", "java"),
            {"teacher", "--run", "r", "--bootstrap-servers", "127.0.0.1:1", "--teacher", pt.toString(), "--teacher-outputs", "features,logits", "--logits"},
        };
        for (String[] args : acceptedCases) {
            assertThat(CommandLines.execute(sentinel(), args)).as(String.join(" ", args)).isEqualTo(NOT_REFUSED);
        }
    }

    /** {@code --teacher-weight RUN=W}: the map option is checked at parse time, key and value (issue 39). */
    @Test
    void teacherWeightsAreRunIdsWithNonNegativeWeights() throws IOException {
        String[] student = {"student", "--run", "r", "--group", "g", "--bootstrap-servers", "127.0.0.1:1",
            "--checkpoint-dir", tmp.resolve("ck-weights").toString()};
        assertThat(run(concat(student, "--teacher-weight", "r=-1"))).contains("'--teacher-weight'", "out of range");
        assertThat(run(concat(student, "--teacher-weight", "r=x"))).contains("'--teacher-weight'", "not a number");
        assertThat(run(concat(student, "--teacher-weight", "r"))).contains("'--teacher-weight'", "KEY=VALUE");
        assertThat(run(concat(student, "--teacher-weight", "r/x=1"))).contains("'--teacher-weight'", "not a run id");
        Path weights = Files.writeString(tmp.resolve("weights.properties"), "teacher-weight=r=-2\n");
        assertThat(run(concat(student, "--config", weights.toString()))).contains("'--teacher-weight'", "out of range");
        for (String[] args : List.of(concat(student, "--teacher-weight", "r=-1"), concat(student, "--teacher-weight", "r"))) {
            assertThat(run(args).lines().toList()).as(String.join(" ", args)).hasSize(2);
        }
    }

    /** The shipped config files stay valid as the options' checks tighten. */
    @Test
    void theDeployConfigFilesPassTheChecks() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(Path.of("..", "deploy"))) {
            files = walk.filter(p -> p.getFileName().toString().matches("(student|teacher)\\.properties")).toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(2);
        for (Path f : files) {
            String[] args = f.getFileName().toString().startsWith("student")
                    ? new String[] {"student", "--config", f.toString(), "--run", "r", "--group", "g", "--checkpoint-dir",
                            tmp.resolve("ck-" + fresh.incrementAndGet()).toString()}
                    : new String[] {"teacher", "--config", f.toString(), "--run", "r", "--teacher", model.toString()};
            CommandLine cmd = sentinel();
            StringWriter err = new StringWriter();
            cmd.setErr(new PrintWriter(err, true));
            assertThat(CommandLines.execute(cmd, args)).as(f + ": " + err).isEqualTo(NOT_REFUSED);
        }
    }

    @Test
    void durationsInEveryAcceptedForm() {
        DurationConverter c = new DurationConverter();
        assertThat(c.convert("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(c.convert("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.convert("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.convert("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(c.convert("90d")).isEqualTo(Duration.ofDays(90));
        assertThat(c.convert("PT1M30S")).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.convert("P90D")).isEqualTo(Duration.ofDays(90));
        assertThat(c.convert("2")).as("a bare number is seconds, as --progress-interval took").isEqualTo(Duration.ofSeconds(2));
    }

    private static void walk(CommandSpec spec, List<Case> cases) {
        if (!spec.name().equals("help")) {
            List<String> base = baseArgs(spec);
            String cmd = spec.qualifiedName();
            cases.add(new Case(cmd + " --no-such-option", concat(base, "--no-such-option"), "--no-such-option", null));
            if (spec.findOption("--config") != null) {
                cases.add(new Case(cmd + " --config with an unknown key", concat(base, "--config", badConfig.toString()),
                        "--config", "'alpah'"));
            }
            for (OptionSpec o : spec.options()) {
                if (o.usageHelp() || o.versionHelp() || o.arity().max() == 0) {
                    continue;
                }
                List<String> without = withoutOption(base, o);
                for (String[] bad : badValues(o)) {
                    cases.add(new Case(cmd + " " + o.longestName() + " " + bad[0] + " (" + bad[1] + ")",
                            concat(without, o.longestName(), bad[0]), o.longestName(), null));
                }
            }
        }
        spec.subcommands().values().forEach(sub -> walk(sub.getCommandSpec(), cases));
    }

    /** {value, kind} pairs: each kind of bad value this option's type and converter admit. */
    private static List<String[]> badValues(OptionSpec o) {
        List<String[]> bad = new ArrayList<>();
        Object conv = converter(o);
        Class<?> type = o.auxiliaryTypes().length > 0 && o.isMultiValue() ? o.auxiliaryTypes()[0] : o.type();
        if (NUMBERS.contains(type) || type == Duration.class) {
            bad.add(new String[] {"not-a-number", "wrong type"});
        }
        if (conv instanceof Bounded<?> b) {
            bad.add(new String[] {b.outOfRange(), "out of range"});
        }
        if (type == Duration.class) {
            bad.add(new String[] {"-5s", "out of range"});
        }
        if (conv instanceof Choice || type.isEnum()) {
            bad.add(new String[] {"no-such-value", "unknown choice"});
        }
        if (conv instanceof PathOption p) {
            Path missing = tmp.resolve("missing-" + fresh.incrementAndGet());
            switch (p.kind()) {
                case FILE -> {
                    bad.add(new String[] {missing.toString(), "missing file"});
                    bad.add(new String[] {existingDir.toString(), "a directory where a file belongs"});
                }
                case MODEL -> {
                    bad.add(new String[] {missing.toString(), "missing file"});
                    bad.add(new String[] {existingFile.toString(), "a file that is no model"});
                }
                case DIRECTORY -> {
                    bad.add(new String[] {existingFile.toString(), "a file where a directory belongs"});
                    bad.add(new String[] {existingFile.resolve("sub").toString(), "a file where a parent directory belongs"});
                    bad.add(new String[] {unwritableDir.resolve("sub").toString(), "an unwritable directory"});
                }
                case OUTPUT_FILE -> {
                    bad.add(new String[] {existingDir.toString(), "a directory where a file belongs"});
                    bad.add(new String[] {unwritableDir.resolve("out").toString(), "an unwritable directory"});
                }
                default -> throw new AssertionError(p.kind());
            }
        }
        return bad;
    }

    /** The command's path and a valid value for each required option and positional parameter. */
    private static List<String> baseArgs(CommandSpec spec) {
        List<String> args = new ArrayList<>();
        for (CommandSpec s = spec; s.parent() != null; s = s.parent()) {
            args.add(0, s.name());
        }
        for (OptionSpec o : spec.options()) {
            if (o.required()) {
                args.add(o.longestName());
                args.add(validValue(o.longestName(), o.type(), converter(o)));
            }
        }
        for (PositionalParamSpec p : spec.positionalParameters()) {
            if (p.required()) {
                args.add(validValue(p.paramLabel(), p.type(), p.converters().length > 0 ? p.converters()[0] : null));
            }
        }
        return args;
    }

    private static String validValue(String name, Class<?> type, Object conv) {
        if (conv instanceof PathOption p) {
            return switch (p.kind()) {
                case FILE -> existingFile.toString();
                case MODEL -> model.toString();
                case DIRECTORY -> tmp.resolve("fresh-" + fresh.incrementAndGet()).toString();
                case OUTPUT_FILE -> tmp.resolve("out-" + fresh.incrementAndGet()).toString();
            };
        }
        if (conv instanceof Choice c) {
            return c.iterator().next();
        }
        if (type == Duration.class) {
            return "1s";
        }
        if (NUMBERS.contains(type)) {
            return type == double.class || type == Double.class || type == float.class ? "0.5" : "1";
        }
        return name.equals("--bootstrap-servers") ? "127.0.0.1:1" : "x";
    }

    private static void refused(Case c) {
        CommandLine cmd = sentinel();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = CommandLines.execute(cmd, c.args().toArray(String[]::new));
        String e = err.toString();
        List<String> lines = e.lines().toList();
        assertThat(code).as("exit code of %s; stderr: %s", c.args(), e).isEqualTo(2);
        assertThat(lines).as("stderr of %s", c.args()).hasSize(2);
        assertThat(lines.get(0)).contains("'" + c.option() + "'").doesNotContain("Exception", "java.", "\tat ");
        if (c.mustMention() != null) {
            assertThat(lines.get(0)).contains(c.mustMention());
        }
        assertThat(lines.get(1)).matches("Try 'kdstream[a-z -]* --help'");
        assertThat(out.toString()).as("no usage on stdout").isEmpty();
    }

    /** The real command line, with the commands' own code replaced by a refusal to run it. */
    private static CommandLine sentinel() {
        return KdstreamCommand.commandLine().setExecutionStrategy(CommandLines.checking(parsed -> NOT_REFUSED));
    }

    private static String run(String... args) {
        CommandLine cmd = sentinel();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        assertThat(CommandLines.execute(cmd, args)).as(String.join(" ", args) + ": " + err).isEqualTo(2);
        return err.toString();
    }

    private static Object converter(OptionSpec o) {
        return o.converters() != null && o.converters().length > 0 ? o.converters()[0] : null;
    }

    private static void forEachOption(CommandSpec spec, java.util.function.BiConsumer<CommandSpec, OptionSpec> f) {
        spec.options().forEach(o -> f.accept(spec, o));
        spec.subcommands().values().forEach(sub -> forEachOption(sub.getCommandSpec(), f));
    }

    private static List<String> withoutOption(List<String> args, OptionSpec o) {
        List<String> out = new ArrayList<>(args);
        int i = out.indexOf(o.longestName());
        if (i >= 0) {
            out.remove(i + 1);
            out.remove(i);
        }
        return out;
    }

    private static List<String> concat(List<String> args, String... more) {
        List<String> out = new ArrayList<>(args);
        out.addAll(List.of(more));
        return out;
    }

    private static String[] concat(String[] args, String... more) {
        return Stream.concat(Stream.of(args), Stream.of(more)).toArray(String[]::new);
    }
}
