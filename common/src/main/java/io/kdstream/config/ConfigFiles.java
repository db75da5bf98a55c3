package io.kdstream.config;

import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine;

/**
 * {@code --config FILE}: option defaults from a properties file (picocli's
 * {@link CommandLine.PropertiesDefaultProvider}). The file must be known before parsing, so the
 * arguments are scanned for it first.
 */
public final class ConfigFiles {

    private ConfigFiles() {
    }

    /** Installs the defaults file named by {@code --config} (if any) on every command. */
    public static void install(CommandLine root, String[] args) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[i + 1]);
            } else if (args[i].startsWith("--config=")) {
                file = Path.of(args[i].substring("--config=".length()));
            }
        }
        if (file == null) {
            return;
        }
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(root, "--config file " + file.toAbsolutePath() + " does not exist");
        }
        CommandLine.IDefaultValueProvider provider = new CommandLine.PropertiesDefaultProvider(file.toFile());
        install(root, provider);
    }

    private static void install(CommandLine cmd, CommandLine.IDefaultValueProvider provider) {
        cmd.setDefaultValueProvider(provider);
        cmd.getSubcommands().values().forEach(sub -> install(sub, provider));
    }
}
