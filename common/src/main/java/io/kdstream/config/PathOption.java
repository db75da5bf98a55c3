package io.kdstream.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine;

/**
 * Path options checked at parse time, before any Kafka wait or engine start: a file that must
 * exist, a directory that may be created (refused when a file is in its place or nothing can be
 * written there), an output file. Checking creates nothing; {@link #createDirectory} makes and
 * probes a directory at the start of a command that writes to it.
 */
public abstract class PathOption implements CommandLine.ITypeConverter<Path> {

    /** What an option's path must be; the CLI fuzz test picks its bad values by this. */
    public enum Kind {
        /** An existing regular file. */
        FILE,
        /** A directory, existing or to be created. */
        DIRECTORY,
        /** A file to write (its directory is created if needed). */
        OUTPUT_FILE,
        /** A model directory holding model.json, or a TorchScript {@code .pt} file. */
        MODEL
    }

    private final Kind kind;

    PathOption(Kind kind) {
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public Path convert(String value) {
        Path p = Path.of(value);
        switch (kind) {
            case FILE -> requireFile(p);
            case DIRECTORY -> requireWritableDirectory(p);
            case OUTPUT_FILE -> {
                if (Files.isDirectory(p)) {
                    throw new CommandLine.TypeConversionException(p + " is a directory, not a file");
                }
                Path parent = p.toAbsolutePath().getParent();
                requireWritableDirectory(parent);
            }
            case MODEL -> {
                if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".pt")) {
                    return p;
                }
                if (!Files.exists(p)) {
                    throw new CommandLine.TypeConversionException(p + " does not exist");
                }
                if (!Files.isRegularFile(p.resolve("model.json"))) {
                    throw new CommandLine.TypeConversionException(p
                            + " is neither a model directory (with model.json) nor a TorchScript .pt file");
                }
            }
            default -> throw new IllegalStateException(kind.name());
        }
        return p;
    }

    private static void requireFile(Path p) {
        if (Files.isDirectory(p)) {
            throw new CommandLine.TypeConversionException(p + " is a directory, not a file");
        }
        if (!Files.isRegularFile(p)) {
            throw new CommandLine.TypeConversionException(p + " does not exist");
        }
        if (!Files.isReadable(p)) {
            throw new CommandLine.TypeConversionException(p + " is not readable");
        }
    }

    /**
     * Refuses a path where a file stands, or whose nearest existing ancestor is no directory or takes
     * no new file (probed by creating and deleting one: access rights say nothing to root).
     */
    private static void requireWritableDirectory(Path p) {
        Path existing = p.toAbsolutePath().normalize();
        while (!Files.exists(existing)) {
            existing = existing.getParent();
            if (existing == null) {
                throw new CommandLine.TypeConversionException(p + " has no existing parent directory");
            }
        }
        if (!Files.isDirectory(existing)) {
            throw new CommandLine.TypeConversionException(existing.equals(p.toAbsolutePath().normalize())
                    ? p + " is a file, not a directory" : p + " cannot be a directory: " + existing + " is a file");
        }
        try {
            Files.delete(Files.createTempFile(existing, ".kdstream-probe", ""));
        } catch (IOException | SecurityException e) {
            throw new CommandLine.TypeConversionException(p + " is not writable (" + existing + " takes no new file)");
        }
    }

    /** Creates {@code dir} (a {@link Kind#DIRECTORY} option's value) and proves a file can be written in it. */
    public static Path createDirectory(CommandLine.Model.CommandSpec spec, String option, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".kdstream-probe", ""));
            return dir;
        } catch (IOException | SecurityException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '" + option + "': cannot create or write to the directory " + dir);
        }
    }

    /** An existing regular file. */
    public static final class ExistingFile extends PathOption {
        public ExistingFile() {
            super(Kind.FILE);
        }
    }

    /** A directory, existing or creatable. */
    public static final class Directory extends PathOption {
        public Directory() {
            super(Kind.DIRECTORY);
        }
    }

    /** A file to write. */
    public static final class OutputFile extends PathOption {
        public OutputFile() {
            super(Kind.OUTPUT_FILE);
        }
    }

    /** A model directory or TorchScript file. */
    public static final class Model extends PathOption {
        public Model() {
            super(Kind.MODEL);
        }
    }
}
