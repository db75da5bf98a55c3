package io.kdstream.deploy;

import static io.kdstream.deploy.DeployTools.deploy;
import static io.kdstream.deploy.DeployTools.readYaml;
import static io.kdstream.deploy.DeployTools.readYamlDocuments;
import static io.kdstream.deploy.DeployTools.run;
import static io.kdstream.deploy.DeployTools.tool;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.kdstream.cli.KdstreamCommand;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * Offline validation of deploy/: each file is checked by the tool that consumes it (promtool,
 * docker-compose, kubectl kustomize, yamllint) when that tool is installed, and the rendered
 * results are asserted on. A missing tool skips its test with the reason; nothing is faked.
 */
class DeployConfigTest {

    /** The seven failure modes issue 8 asks alerts for, by the series each one watches. */
    private static final List<String> REQUIRED_ALERT_SERIES = List.of(
            "kdstream_student_steps_total", "kdstream_student_consumer_lag_records",
            "kdstream_student_dlq_records_total", "kdstream_student_nonfinite_steps_total",
            "kdstream_student_orthogonality_error", "kdstream_teacher_transactions_total",
            "kdstream_student_checkpoint_age_seconds",
            // added after issue 8: the teacher replacing a producer in Kafka's fatal state
            "kdstream_teacher_producer_replacements_total");

    private static Path need(String name, String debianPackage) {
        var t = tool(name);
        Prerequisites.assume(Need.TOOL, t.isPresent(), name + " is not installed (Debian package " + debianPackage
                + "; .ci/run installs it): skipping this validation");
        return t.get();
    }

    // ------------------------------------------------------------------ Prometheus

    @Test
    void promtoolAcceptsTheScrapeConfigAndItsRuleFiles() throws Exception {
        Path promtool = need("promtool", "prometheus");
        var r = run(deploy().resolve("prometheus"), 60, List.of(promtool.toString(), "check", "config", "prometheus.yml"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(DeployTools.alertRuleCount()).isPositive();
        assertThat(r.output()).contains("SUCCESS: prometheus.yml is valid",
                "SUCCESS: " + DeployTools.alertRuleCount() + " rules found");
    }

    @Test
    void promtoolAcceptsTheAlertRules() throws Exception {
        Path promtool = need("promtool", "prometheus");
        var r = run(deploy().resolve("prometheus"), 60, List.of(promtool.toString(), "check", "rules", "alerts.yml"));
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void alertRuleUnitTestsPass() throws Exception {
        Path promtool = need("promtool", "prometheus");
        var r = run(deploy().resolve("prometheus"), 120,
                List.of(promtool.toString(), "test", "rules", "tests/alerts-test.yml"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS");
    }

    @Test
    void everyRequiredFailureModeHasAnAlertAndEveryAlertAFiringUnitTest() throws IOException {
        Map<String, String> exprByAlert = new HashMap<>();
        for (JsonNode g : readYaml(deploy().resolve("prometheus/alerts.yml")).get("groups")) {
            for (JsonNode r : g.get("rules")) {
                exprByAlert.put(r.get("alert").asText(), r.get("expr").asText());
                assertThat(r.path("annotations").path("summary").asText()).as("summary of %s", r.get("alert")).isNotBlank();
                assertThat(r.path("labels").path("severity").asText()).as("severity of %s", r.get("alert"))
                        .isIn("warning", "critical");
            }
        }
        for (String series : REQUIRED_ALERT_SERIES) {
            assertThat(exprByAlert.values()).as("an alert watches %s", series).anyMatch(e -> e.contains(series));
        }
        Set<String> firing = new HashSet<>();
        for (JsonNode t : readYaml(deploy().resolve("prometheus/tests/alerts-test.yml")).get("tests")) {
            for (JsonNode a : t.path("alert_rule_test")) {
                if (!a.path("exp_alerts").isEmpty()) {
                    firing.add(a.get("alertname").asText());
                }
            }
        }
        assertThat(firing).as("alerts with a unit test that expects them to fire")
                .containsExactlyInAnyOrderElementsOf(exprByAlert.keySet());
    }

    @Test
    void kubernetesPrometheusRuleIsTheSameAsAlertsYml() throws IOException {
        JsonNode source = readYaml(deploy().resolve("prometheus/alerts.yml")).get("groups");
        JsonNode rule = readYaml(deploy().resolve("k8s/base/prometheusrule.yaml"));
        assertThat(rule.get("kind").asText()).isEqualTo("PrometheusRule");
        assertThat(rule.path("spec").path("groups")).as("run deploy/k8s/sync-rules.sh").isEqualTo(source);
    }

    // ------------------------------------------------------------------ Grafana

    @Test
    void dashboardCoversTheIssuesPanelsAndUsesTheProvisionedDataSource() throws IOException {
        JsonNode d = DeployTools.JSON.readTree(deploy().resolve("grafana/dashboards/kdstream.json").toFile());
        assertThat(d.get("uid").asText()).isNotBlank();
        Set<Integer> ids = new HashSet<>();
        List<String> exprs = DeployTools.dashboardExpressions();
        for (JsonNode p : d.get("panels")) {
            assertThat(ids.add(p.get("id").asInt())).as("unique panel id %s", p.get("id")).isTrue();
            for (JsonNode t : p.path("targets")) {
                assertThat(t.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
            }
        }
        // throughput, lag, loss components, orthogonality, accuracy, DLQ, teacher forward latency
        assertThat(DeployTools.metricNames(exprs)).contains("kdstream_teacher_samples_total",
                "kdstream_student_samples_total", "kdstream_student_consumer_lag_records", "kdstream_student_loss",
                "kdstream_student_orthogonality_error", "kdstream_student_eval_accuracy_ratio",
                "kdstream_student_dlq_records_total", "kdstream_teacher_forward_seconds_bucket");
        JsonNode ds = readYaml(deploy().resolve("grafana/provisioning/datasources/prometheus.yml"));
        assertThat(ds.path("datasources").get(0).path("type").asText()).isEqualTo("prometheus");
        JsonNode provider = readYaml(deploy().resolve("grafana/provisioning/dashboards/kdstream.yml"));
        assertThat(provider.path("providers").get(0).path("options").path("path").asText())
                .isEqualTo("/var/lib/grafana/dashboards/kdstream");
    }

    // ------------------------------------------------------------------ compose

    @Test
    void dockerComposeValidatesTheStack() throws Exception {
        Path compose = need("docker-compose", "docker-compose");
        Path dir = deploy().resolve("compose");
        var check = run(dir, 120, List.of(compose.toString(), "-f", "docker-compose.yml", "config", "-q"));
        assertThat(check.exitCode()).as(check.output()).isZero();
        var rendered = run(dir, 120, List.of(compose.toString(), "-f", "docker-compose.yml", "config"));
        assertThat(rendered.exitCode()).as(rendered.output()).isZero();
        String yaml = rendered.output().lines().filter(l -> !l.startsWith("WARNING")).reduce("", (a, b) -> a + b + "\n");
        JsonNode services = readYamlDocuments(yaml).get(0).get("services");

        JsonNode kafka = services.get("kafka");
        assertThat(kafka.get("image").asText()).startsWith("apache/kafka:");
        JsonNode kenv = kafka.get("environment");
        assertThat(kenv.get("KAFKA_PROCESS_ROLES").asText()).isEqualTo("broker,controller");
        assertThat(kenv.get("KAFKA_MESSAGE_MAX_BYTES").asLong()).isGreaterThanOrEqualTo(16L * 1024 * 1024 + 64 * 1024);
        assertThat(kenv.get("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR").asInt()).isEqualTo(1);
        assertThat(kenv.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR").asInt()).isEqualTo(1);

        assertThat(services.has("prometheus")).isTrue();
        assertThat(services.has("grafana")).isTrue();
        assertThat(services.get("teacher").get("build").get("target").asText()).isEqualTo("teacher");

        List<String> groups = new ArrayList<>();
        int students = 0;
        for (var it = services.fields(); it.hasNext();) {
            var e = it.next();
            if (!e.getKey().startsWith("student")) {
                continue;
            }
            students++;
            JsonNode s = e.getValue();
            assertThat(s.get("build").get("target").asText()).isEqualTo("student");
            assertThat(s.path("networks").path("default").path("aliases").toString())
                    .as("%s is found by Prometheus", e.getKey()).contains("students");
            List<String> args = new ArrayList<>();
            s.get("command").forEach(a -> args.add(a.asText()));
            assertOptionsExist("student", args.subList(1, args.size()));
            groups.add(args.stream().filter(a -> a.startsWith("--group=")).findFirst().orElseThrow());
            assertThat(s.get("volumes").toString()).as("%s keeps checkpoints on a volume", e.getKey())
                    .contains("/var/lib/kdstream/checkpoints");
        }
        assertThat(students).isGreaterThanOrEqualTo(2);
        assertThat(new HashSet<>(groups)).as("one consumer group per student service").hasSize(groups.size());
        List<String> targs = new ArrayList<>();
        services.get("teacher").get("command").forEach(a -> targs.add(a.asText()));
        assertOptionsExist("teacher", targs.subList(1, targs.size()));
        // every bind-mounted file or directory of the repo exists
        for (String svc : List.of("prometheus", "grafana", "teacher")) {
            for (JsonNode v : services.get(svc).path("volumes")) {
                String src = v.isTextual() ? v.asText().split(":")[0] : v.path("source").asText();
                if (src.startsWith("/work") || src.startsWith(DeployTools.repoRoot().toString())) {
                    assertThat(Path.of(src)).as("mounted into %s", svc).exists();
                }
            }
        }
    }

    // ------------------------------------------------------------------ Kubernetes

    @ParameterizedTest
    @ValueSource(strings = {"dev-cpu", "prod-gpu"})
    void kustomizeBuildsEachOverlay(String overlay) throws Exception {
        Path kubectl = need("kubectl", "kubernetes-client");
        var r = run(deploy().resolve("k8s"), 120, List.of(kubectl.toString(), "kustomize", "overlays/" + overlay));
        assertThat(r.exitCode()).as(r.output()).isZero();
        List<JsonNode> docs = readYamlDocuments(r.output());
        Map<String, List<JsonNode>> byKind = new HashMap<>();
        docs.forEach(d -> byKind.computeIfAbsent(d.get("kind").asText(), k -> new ArrayList<>()).add(d));
        assertThat(byKind.keySet()).contains("Deployment", "StatefulSet", "Service", "ConfigMap",
                "PodDisruptionBudget", "PrometheusRule");
        assertThat(byKind.containsKey("PodMonitor") || byKind.containsKey("ServiceMonitor"))
                .as("PodMonitor or ServiceMonitor").isTrue();
        for (JsonNode d : docs) {
            assertThat(d.path("metadata").path("labels").path("app.kubernetes.io/part-of").asText())
                    .as("%s %s", d.get("kind"), d.path("metadata").path("name")).isEqualTo("kdstream");
        }

        JsonNode teacher = byKind.get("Deployment").get(0);
        JsonNode tpod = teacher.at("/spec/template/spec");
        JsonNode tc = tpod.at("/containers/0");
        assertThat(teacher.at("/spec/replicas").asInt()).isPositive();
        assertThat(tpod.get("terminationGracePeriodSeconds").asInt()).as("teacher grace > transaction timeout 60 s")
                .isGreaterThan(60);
        assertProbes(tc);
        assertNonRoot(tpod, tc);
        assertOptionsExist("teacher", args(tc));
        boolean gpu = overlay.contains("gpu");
        assertThat(tc.at("/resources/requests").has("nvidia.com/gpu")).as("teacher GPU request").isEqualTo(gpu);
        assertThat(tc.at("/resources/limits").has("nvidia.com/gpu")).as("teacher GPU limit").isEqualTo(gpu);

        for (JsonNode sts : byKind.get("StatefulSet")) {
            JsonNode spod = sts.at("/spec/template/spec");
            JsonNode sc = spod.at("/containers/0");
            assertThat(spod.get("terminationGracePeriodSeconds").asInt()).as("student grace").isGreaterThan(60);
            assertProbes(sc);
            assertNonRoot(spod, sc);
            assertOptionsExist("student", args(sc));
            assertThat(sts.at("/spec/volumeClaimTemplates/0/metadata/name").asText()).isEqualTo("checkpoints");
            assertThat(sc.get("volumeMounts").toString()).contains("\"checkpoints\"", "/var/lib/kdstream/checkpoints");
            assertThat(args(sc)).contains("--checkpoint-dir=/var/lib/kdstream/checkpoints");
            String governing = sts.at("/spec/serviceName").asText();
            assertThat(byKind.get("Service")).as("governing service %s", governing)
                    .anyMatch(s -> s.at("/metadata/name").asText().equals(governing));
        }

        // config maps: the properties keys are real options of the matching subcommand
        for (JsonNode cm : byKind.get("ConfigMap")) {
            for (var it = cm.get("data").fields(); it.hasNext();) {
                var e = it.next();
                if (e.getKey().equals("teacher.properties")) {
                    assertPropertiesAreOptions("teacher", e.getValue().asText());
                } else if (e.getKey().equals("student.properties")) {
                    assertPropertiesAreOptions("student", e.getValue().asText());
                }
            }
        }
        // every configMap a pod mounts is rendered (hash suffixes resolved)
        Set<String> cms = new TreeSet<>();
        byKind.get("ConfigMap").forEach(c -> cms.add(c.at("/metadata/name").asText()));
        for (JsonNode w : Stream.concat(byKind.get("Deployment").stream(), byKind.get("StatefulSet").stream()).toList()) {
            for (JsonNode v : w.at("/spec/template/spec/volumes")) {
                if (v.has("configMap")) {
                    assertThat(cms).contains(v.at("/configMap/name").asText());
                }
            }
        }
    }

    private static List<String> args(JsonNode container) {
        List<String> a = new ArrayList<>();
        container.get("args").forEach(x -> a.add(x.asText()));
        return a.subList(1, a.size()); // drop the subcommand
    }

    private static void assertProbes(JsonNode c) {
        assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
        String port = c.at("/livenessProbe/httpGet/port").asText();
        assertThat(c.get("ports").toString()).contains("\"" + port + "\"");
        String metricsPort = args(c).stream().filter(a -> a.startsWith("--metrics-port=")).findFirst().orElseThrow()
                .substring("--metrics-port=".length());
        assertThat(c.at("/ports/0/containerPort").asText()).isEqualTo(metricsPort);
    }

    private static void assertNonRoot(JsonNode pod, JsonNode c) {
        assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.at("/securityContext/runAsUser").asInt()).isNotZero();
        assertThat(c.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
    }

    // ------------------------------------------------------------------ options and properties

    @Test
    void everyPropertiesFileNamesRealOptions() throws IOException {
        try (Stream<Path> files = Files.walk(deploy())) {
            List<Path> props = files.filter(p -> p.getFileName().toString().matches("(teacher|student)\\.properties"))
                    .toList();
            assertThat(props).hasSizeGreaterThanOrEqualTo(6);
            for (Path p : props) {
                String cmd = p.getFileName().toString().replace(".properties", "");
                assertPropertiesAreOptions(cmd, Files.readString(p));
            }
        }
    }

    private static void assertPropertiesAreOptions(String subcommand, String properties) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(properties));
        List<String> args = new ArrayList<>();
        p.stringPropertyNames().forEach(k -> args.add("--" + k + "=" + p.getProperty(k)));
        assertOptionsExist(subcommand, args);
    }

    private static final Pattern OPTION = Pattern.compile("^(--[a-z][a-z0-9-]*)(=.*)?$");

    /** Each {@code --name[=value]} is an option of {@code kdstream <subcommand>}. */
    static void assertOptionsExist(String subcommand, List<String> args) {
        CommandLine.Model.CommandSpec spec = KdstreamCommand.commandLine().getSubcommands().get(subcommand)
                .getCommandSpec();
        for (String a : args) {
            Matcher m = OPTION.matcher(a);
            assertThat(m.matches()).as("argument %s of %s is an --option", a, subcommand).isTrue();
            assertThat(spec.findOption(m.group(1))).as("kdstream %s has option %s", subcommand, m.group(1)).isNotNull();
        }
    }

    // ------------------------------------------------------------------ images and lint

    @Test
    void dockerfileIsMultiStageNonRootWithCpuDefaultAndCudaVariant() throws IOException {
        Path dockerfile = deploy().resolve("docker/Dockerfile");
        List<String> lines = Files.readAllLines(dockerfile);
        List<String> stages = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
        assertThat(stages).anyMatch(l -> l.endsWith(" AS build"))
                .anyMatch(l -> l.endsWith(" AS teacher")).anyMatch(l -> l.endsWith(" AS student"))
                .anyMatch(l -> l.contains("AS runtime-cuda")).anyMatch(l -> l.contains("AS runtime-cpu"));
        assertThat(lines).contains("ARG TORCH_VARIANT=cpu");
        assertThat(lines).anyMatch(l -> l.matches("USER 10001(:10001)?"));
        assertThat(String.join("\n", lines)).contains("MaxRAMPercentage", "ExitOnOutOfMemoryError",
                "PYTORCH_FLAVOR", "PYTORCH_LIBRARY_PATH");
        // every COPY source (outside --from) exists in the build context (the repository root)
        for (String l : lines) {
            if (l.startsWith("COPY ") && !l.contains("--from=")) {
                String[] parts = l.substring(5).trim().split("\\s+");
                for (int i = 0; i < parts.length - 1; i++) {
                    if (!parts[i].equals(".")) {
                        assertThat(DeployTools.repoRoot().resolve(parts[i])).as("COPY source").exists();
                    }
                }
            }
        }
        assertThat(Files.isExecutable(deploy().resolve("docker/entrypoint.sh"))).isTrue();
    }

    @Test
    void entrypointScriptIsValidShell() throws Exception {
        var r = run(deploy().resolve("docker"), 30, List.of("sh", "-n", "entrypoint.sh"));
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void yamllintAcceptsEveryYamlFile() throws Exception {
        Path yamllint = need("yamllint", "yamllint");
        var r = run(deploy(), 120, List.of(yamllint.toString(), "-s", "-c", ".yamllint.yml", "."));
        assertThat(r.exitCode()).as(r.output()).isZero();
    }
}
