package io.kdstream.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/** Shared helpers of the deploy/ tests: locating files and tools, running them, reading YAML and PromQL. */
final class DeployTools {

    static final ObjectMapper YAML = new YAMLMapper();
    static final ObjectMapper JSON = new ObjectMapper();

    private DeployTools() {
    }

    /** The repository root (the directory holding deploy/ and bin/kdstream). */
    static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("deploy")) && Files.exists(dir.resolve("bin/kdstream"))) {
                return dir;
            }
        }
        throw new IllegalStateException("deploy/ not found above " + Path.of("").toAbsolutePath());
    }

    static Path deploy() {
        return repoRoot().resolve("deploy");
    }

    /** An executable named {@code name} on PATH, if any. */
    static Optional<Path> tool(String name) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    record Result(int exitCode, String output) {
    }

    /** Runs a command to completion (stdout and stderr merged), killing it after {@code timeoutSeconds}. */
    static Result run(Path workDir, int timeoutSeconds, List<String> command) throws IOException, InterruptedException {
        return run(workDir, timeoutSeconds, command, Map.of());
    }

    static Result run(Path workDir, int timeoutSeconds, List<String> command, Map<String, String> env)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("deploy-tool", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds
                        + " s; output:\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static JsonNode readYaml(Path file) throws IOException {
        return YAML.readTree(file.toFile());
    }

    /** How many alert rules deploy/prometheus/alerts.yml defines, over all its groups. */
    static int alertRuleCount() throws IOException {
        int rules = 0;
        for (JsonNode g : readYaml(deploy().resolve("prometheus/alerts.yml")).get("groups")) {
            rules += g.get("rules").size();
        }
        return rules;
    }

    /** Every document of a multi-document YAML stream (e.g. kubectl kustomize output). */
    static List<JsonNode> readYamlDocuments(String yaml) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(yaml)) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isEmpty()) {
                    docs.add(n);
                }
            }
        }
        return docs;
    }

    /** The PromQL expressions of the alert rules in deploy/prometheus/alerts.yml. */
    static List<String> alertExpressions() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode g : readYaml(deploy().resolve("prometheus/alerts.yml")).get("groups")) {
            for (JsonNode r : g.get("rules")) {
                out.add(r.get("expr").asText());
            }
        }
        return out;
    }

    /** The PromQL expressions of the Grafana dashboard's panels and template variables. */
    static List<String> dashboardExpressions() throws IOException {
        JsonNode d = JSON.readTree(deploy().resolve("grafana/dashboards/kdstream.json").toFile());
        List<String> out = new ArrayList<>();
        for (JsonNode p : d.get("panels")) {
            for (JsonNode t : p.path("targets")) {
                out.add(t.get("expr").asText());
            }
        }
        for (JsonNode v : d.path("templating").path("list")) {
            if ("query".equals(v.path("type").asText())) {
                out.add(v.path("definition").asText()
                        .replaceAll("^label_values\\((.*),\\s*\\w+\\)$", "$1"));
            }
        }
        return out;
    }

    private static final Pattern METRIC = Pattern.compile("\\b((?:kdstream|jvm|process|system|kafka)_[A-Za-z0-9_]+)");

    /** Metric names (the exported families the services own) referenced by PromQL expressions. */
    static Set<String> metricNames(List<String> exprs) {
        Set<String> names = new TreeSet<>();
        for (String e : exprs) {
            Matcher m = METRIC.matcher(e);
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    record Selector(String metric, String label, String op, String value) {
    }

    private static final Pattern SELECTOR = Pattern.compile("\\b([a-zA-Z_:][a-zA-Z0-9_:]*)\\{([^}]*)\\}");
    private static final Pattern MATCHER = Pattern.compile("(\\w+)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");

    /** Label matchers such as {@code kdstream_student_loss{component="ce"}}. */
    static List<Selector> selectors(List<String> exprs) {
        List<Selector> out = new ArrayList<>();
        for (String e : exprs) {
            Matcher m = SELECTOR.matcher(e);
            while (m.find()) {
                Matcher lm = MATCHER.matcher(m.group(2));
                while (lm.find()) {
                    out.add(new Selector(m.group(1), lm.group(1), lm.group(2), lm.group(3)));
                }
            }
        }
        return out;
    }

    private static final Pattern GROUPING = Pattern.compile("\\b(?:by|on|without|ignoring)\\s*\\(([^)]*)\\)");

    /** Label names used in by/on/without/ignoring clauses. */
    static Set<String> groupingLabels(List<String> exprs) {
        Set<String> out = new LinkedHashSet<>();
        for (String e : exprs) {
            Matcher m = GROUPING.matcher(e);
            while (m.find()) {
                for (String l : m.group(1).split(",")) {
                    if (!l.isBlank()) {
                        out.add(l.trim());
                    }
                }
            }
        }
        return out;
    }

    static ArrayNode array(JsonNode n) {
        return n instanceof ArrayNode a ? a : JSON.createArrayNode();
    }
}
