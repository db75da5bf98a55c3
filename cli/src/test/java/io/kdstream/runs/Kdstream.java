package io.kdstream.runs;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import io.kdstream.cli.KdstreamCommand;
import picocli.CommandLine;

/** Runs {@code kdstream ARGS} in-process, as {@code bin/kdstream} would, capturing its output. */
record Kdstream(int code, String out, String err) {

    static Kdstream run(List<String> connection, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(connection);
        CommandLine cmd = KdstreamCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(all.toArray(String[]::new));
        return new Kdstream(code, out.toString(), err.toString());
    }
}
