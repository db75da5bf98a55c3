package io.kdstream.lifecycle;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A kdstream service or tool started as its own JVM: the one place that builds a kdstream
 * {@code java} command line, for the orchestrator, {@code kdstream chaos}, benchmarks and the
 * process-level tests. Every child runs offline (DJL must never reach the network) with this
 * JVM's {@code java}; process-wide settings that every child needs go here, nowhere else.
 *
 * <pre>{@code
 * Process student = KdstreamJvm.kdstream(List.of("student", "--run", run, "--group", group))
 *         .optHeap("512m")
 *         .optLog(logFile)
 *         .build()
 *         .start();
 * }</pre>
 */
public final class KdstreamJvm {

    /** The main class of {@code bin/kdstream} (in module cli, which common cannot reference). */
    public static final String KDSTREAM_MAIN = "io.kdstream.cli.KdstreamCommand";

    private final List<String> command;
    private final Map<String, String> env;
    private final Consumer<ProcessBuilder> output; // where stdout and stderr go

    private KdstreamJvm(Builder b) {
        List<String> cmd = new ArrayList<>();
        if (b.cpus != null) {
            cmd.addAll(List.of("taskset", "-c", b.cpus)); // pinned: timings stay comparable
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        b.properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        if (b.heap != null) {
            cmd.add("-Xmx" + b.heap);
        }
        cmd.addAll(b.jvmOptions);
        if (b.jar != null) {
            // the jar's manifest adds lib/; the broker jars sit apart in lib/broker/ (only the
            // services' `java -jar kdstream.jar` runs without them), see bin/kdstream
            cmd.addAll(List.of("-cp", b.jar + java.io.File.pathSeparator
                    + b.jar.resolveSibling("lib").resolve("broker").resolve("*"), b.mainClass));
        } else {
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), b.mainClass));
        }
        cmd.addAll(b.args);
        this.command = List.copyOf(cmd);
        this.env = Map.copyOf(b.env);
        this.output = b.output;
    }

    /** A JVM running {@code mainClass} on this JVM's class path. */
    public static Builder mainClass(Class<?> mainClass, String... args) {
        return mainClass(mainClass.getName(), args);
    }

    /** A JVM running the class named {@code mainClass} on this JVM's class path. */
    public static Builder mainClass(String mainClass, String... args) {
        Builder b = new Builder();
        b.mainClass = mainClass;
        return b.addArgs(args);
    }

    /**
     * {@code kdstream <args>} (the first argument names the subcommand), on this JVM's class path
     * or from {@link Builder#optJar the kdstream jar}.
     */
    public static Builder kdstream(List<String> args) {
        return mainClass(KDSTREAM_MAIN).addArgs(args);
    }

    /** The whole command line, {@code java} first. */
    public List<String> command() {
        return command;
    }

    /** A process builder for {@link #command()} with the environment and output set up. */
    public ProcessBuilder processBuilder() {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        output.accept(pb);
        return pb;
    }

    public Process start() throws IOException {
        return processBuilder().start();
    }

    @Override
    public String toString() {
        return String.join(" ", command);
    }

    /** Options of a child JVM, in the order they appear on its command line. */
    public static final class Builder {
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final List<String> jvmOptions = new ArrayList<>();
        private final List<String> args = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private String mainClass;
        private Path jar;
        private String heap;
        private String cpus;
        private Consumer<ProcessBuilder> output = pb -> { }; // stdout and stderr piped to the parent

        private Builder() {
            // DJL makes HTTP connects at Engine start unless offline: the property and the variable both say so
            properties.put("ai.djl.offline", "true");
            env.put("DJL_OFFLINE", "true");
        }

        /** Appends program arguments. */
        public Builder addArgs(String... more) {
            args.addAll(Arrays.asList(more));
            return this;
        }

        /** Appends program arguments. */
        public Builder addArgs(List<String> more) {
            args.addAll(more);
            return this;
        }

        /** {@code -Xmx}, e.g. {@code "512m"} (default: the JVM's own). */
        public Builder optHeap(String maxHeap) {
            this.heap = maxHeap;
            return this;
        }

        /** A system property ({@code -Dkey=value}). */
        public Builder optSystemProperty(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /** One intra-op and one inter-op libtorch thread: the steady setting on shared cores. */
        public Builder optSingleTorchThread() {
            return optSystemProperty("ai.djl.pytorch.num_threads", "1")
                    .optSystemProperty("ai.djl.pytorch.num_interop_threads", "1");
        }

        /** Another JVM option, e.g. {@code -XX:+UseSerialGC}. */
        public Builder optJvmOption(String option) {
            jvmOptions.add(option);
            return this;
        }

        /**
         * Runs the main class from {@code kdstreamJar} (its manifest names the libraries) and the broker
         * jars beside it in {@code lib/broker/}, instead of this JVM's class path.
         */
        public Builder optJar(Path kdstreamJar) {
            this.jar = kdstreamJar;
            return this;
        }

        /** Pins the JVM to these CPUs with {@code taskset -c}, e.g. {@code "0"} (the pipeline benchmark's teacher). */
        public Builder optCpus(String cpuList) {
            this.cpus = cpuList;
            return this;
        }

        /** An environment variable of the child (it inherits this JVM's environment otherwise). */
        public Builder optEnv(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** stdout and stderr both appended to {@code log}. */
        public Builder optLog(Path log) {
            output = pb -> pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return this;
        }

        /** stdout piped to the parent (to read its JSON lines), stderr appended to {@code log}. */
        public Builder optErrorLog(Path log) {
            output = pb -> pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return this;
        }

        /** stdout and stderr written to these files (truncated first). */
        public Builder optOutput(Path stdout, Path stderr) {
            output = pb -> pb.redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
            return this;
        }

        /** stdout and stderr merged and piped to the parent. */
        public Builder optMergedOutput() {
            output = pb -> pb.redirectErrorStream(true);
            return this;
        }

        /** The child writes to this JVM's terminal (e.g. a progress bar). */
        public Builder optInheritIO() {
            output = ProcessBuilder::inheritIO;
            return this;
        }

        public KdstreamJvm build() {
            return new KdstreamJvm(this);
        }
    }
}
