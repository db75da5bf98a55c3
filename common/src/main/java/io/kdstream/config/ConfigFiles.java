package io.kdstream.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import picocli.CommandLine;

/**
 * {@code --config FILE}: option defaults from a properties file (picocli's
 * {@link CommandLine.PropertiesDefaultProvider}), so its values go through the options' own
 * converters and checks. The file must be known before parsing, so the arguments are scanned for it
 * first; after parsing, {@link #checkKeys} refuses a key that names no option of the command run,
 * with the nearest one (a misspelt {@code alpah=2} would otherwise train with the default alpha).
 */
public final class ConfigFiles {

    private ConfigFiles() {
    }

    /**
     * Installs the defaults file named by {@code --config} (if any) on every command. A file that
     * does not exist is left to the option's converter to refuse, as one usage error.
     */
    public static void install(CommandLine root, String[] args) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[i + 1]);
            } else if (args[i].startsWith("--config=")) {
                file = Path.of(args[i].substring("--config=".length()));
            }
        }
        if (file == null || !Files.isRegularFile(file)) {
            return;
        }
        install(root, new CommandLine.PropertiesDefaultProvider(file.toFile()));
    }

    private static void install(CommandLine cmd, CommandLine.IDefaultValueProvider provider) {
        cmd.setDefaultValueProvider(provider);
        cmd.getSubcommands().values().forEach(sub -> install(sub, provider));
    }

    /** An execution strategy that checks the config file's keys, then runs {@code next}. */
    public static CommandLine.IExecutionStrategy checkingKeys(CommandLine.IExecutionStrategy next) {
        return parsed -> {
            checkKeys(parsed);
            return next.execute(parsed);
        };
    }

    /** Refuses a key of the {@code --config} file that names no option of the command being run. */
    public static void checkKeys(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult last = parsed;
        while (last.hasSubcommand()) {
            last = last.subcommand();
        }
        CommandLine.Model.CommandSpec spec = last.commandSpec();
        CommandLine.Model.OptionSpec config = spec.findOption("--config");
        if (config == null || config.getValue() == null) {
            return;
        }
        Path file = config.getValue();
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            props.load(r);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--config': cannot read " + file + ": " + e.getMessage());
        }
        Set<String> known = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : spec.options()) {
            if (!o.usageHelp() && !o.versionHelp() && !o.longestName().equals("--config")) {
                known.add(stripDashes(o.longestName()));
                if (o.descriptionKey() != null && !o.descriptionKey().isEmpty()) {
                    known.add(o.descriptionKey());
                }
            }
        }
        String qualified = spec.qualifiedName(".");
        for (String key : new TreeSet<>(props.stringPropertyNames())) {
            String name = key.startsWith(qualified + ".") ? key.substring(qualified.length() + 1) : key;
            if (!known.contains(name)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for option '--config': "
                        + file + ": unknown key '" + key + "'" + suggestion(name, known) + "; keys are the long options of '"
                        + spec.qualifiedName() + "' without dashes");
            }
        }
    }

    private static String stripDashes(String option) {
        return option.replaceFirst("^-+", "");
    }

    private static String suggestion(String key, Set<String> known) {
        List<String> best = new ArrayList<>();
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = levenshtein(key, k);
            if (d < bestDistance) {
                bestDistance = d;
                best.clear();
            }
            if (d == bestDistance) {
                best.add(k);
            }
        }
        // a suggestion three edits away is a guess, not a spelling fix
        return bestDistance <= Math.max(2, key.length() / 3) ? " (did you mean " + String.join(" or ", best) + "?)" : "";
    }

    /** Edit distance (insertions, deletions, substitutions), two rows. */
    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
