package io.kdstream.deploy;

import static io.kdstream.deploy.DeployTools.deploy;
import static io.kdstream.deploy.DeployTools.repoRoot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import io.kdstream.data.Datasets;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.data.Split;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deploy/ monitoring against the real services: an embedded broker, a teacher and a student
 * started through {@code bin/kdstream} with metrics ports, then (1) every metric name and label
 * the Grafana dashboard and the alert rules use is cross-checked against their live
 * {@code /metrics}, and (2) a real Prometheus server on loopback scrapes them with the alert rules
 * loaded; its HTTP API must return the key series with sane values and evaluate every dashboard
 * query.
 */
@RequiresDataset
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeployMetricsIT {

    private static final String RUN = "deploy-it";
    private static final String GROUP = "deploy-it-student";
    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path work;

    private final List<Process> processes = new ArrayList<>();
    /** Each started process's stderr: a failure quotes the one that exited, not only the awaited one. */
    private final Map<Process, Path> errorLogs = new HashMap<>();
    private Process broker;
    private Process teacher;
    private Process student;
    private int teacherPort;
    private int studentPort;
    private String bootstrap;

    @BeforeAll
    void startBrokerTeacherAndStudent() throws Exception {
        Path launcher = repoRoot().resolve("bin/kdstream");
        Prerequisites.assume(Need.BUILD_ARTIFACT, Files.exists(repoRoot().resolve("cli/target/kdstream.jar")),
                "cli/target/kdstream.jar not built (mvn package builds it before the integration tests)");
        Path logs = Files.createDirectories(work.resolve("logs"));

        broker = start(List.of(launcher.toString(), "broker", "--port", "0", "--data-dir", work.resolve("kafka").toString()),
                logs.resolve("broker.out"), logs.resolve("broker.err"));
        bootstrap = await("broker prints its address", () -> readLines(logs.resolve("broker.out")).stream()
                .filter(l -> l.startsWith("bootstrap.servers=")).findFirst()
                .map(l -> l.substring("bootstrap.servers=".length())), logs.resolve("broker.err"));

        // an untrained teacher is enough to exercise every meter, and instant to make
        Path teacherDir = work.resolve("teacher");
        try (DjlFeatureModel m = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist",
                InputNormalization.forDataset(Datasets.load("fashion-mnist", Split.TRAIN)))) {
            m.save(teacherDir);
        }

        teacher = start(List.of(launcher.toString(), "teacher", "--run", RUN, "--bootstrap-servers", bootstrap,
                // A run far longer than the test: the teacher, throttled to the student's pace by the lead
                // bound, stays alive (and its series fresh) until the test stops it.
                "--teacher", teacherDir.toString(), "--train-limit", "1000", "--epochs", "2000", "--batch-size", "64",
                "--logits", "--max-lead-batches", "40", "--progress-interval", "0",
                "--metrics-port", "0"),
                logs.resolve("teacher.out"), logs.resolve("teacher.err"));

        // the student takes its options from a --config file, as in the compose/k8s deployments
        Path studentConfig = work.resolve("student.properties");
        Files.writeString(studentConfig, String.join("\n",
                "run=" + RUN, "group=" + GROUP, "bootstrap-servers=" + bootstrap,
                "checkpoint-dir=" + work.resolve("checkpoints"), "arch=mlp", "eval-every=5", "eval-limit=200",
                "checkpoint-every=5", "progress-interval=0", "idle-timeout=PT5M", "") );
        student = start(List.of(launcher.toString(), "student", "--config", studentConfig.toString(),
                "--metrics-port", "0"),
                logs.resolve("student.out"), logs.resolve("student.err"));
        // each service binds a port of its own choosing (--metrics-port 0) and logs it: a port picked here and
        // bound later could be taken in between by any process's outgoing connection
        teacherPort = await("teacher serves metrics", () -> metricsPort(logs.resolve("teacher.err")),
                logs.resolve("teacher.err"));
        studentPort = await("student serves metrics", () -> metricsPort(logs.resolve("student.err")),
                logs.resolve("student.err"));
    }

    private static final Pattern METRICS_ON = Pattern.compile("metrics on http://[^:]+:(\\d+)/metrics");

    private static Optional<Integer> metricsPort(Path log) {
        return readLines(log).stream().map(METRICS_ON::matcher).filter(Matcher::find)
                .map(m -> Integer.parseInt(m.group(1))).findFirst();
    }

    @AfterAll
    void stopEverything() throws Exception {
        // reverse start order: clients before the broker. The student checkpoints on SIGTERM.
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(p == broker ? 30 : 15, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        for (Process p : processes) {
            assertThat(p.isAlive()).as("process %d stopped", p.pid()).isFalse();
        }
        if (work == null) {
            return;
        }
        String dir = work.toString();
        assertThat(ProcessHandle.allProcesses().filter(ph -> ph.pid() != ProcessHandle.current().pid())
                .filter(ph -> ph.info().commandLine().map(c -> c.contains(dir)).orElse(false))
                .map(ph -> ph.info().commandLine().orElse("")).toList()).as("no stray processes").isEmpty();
    }

    // ------------------------------------------------------------------ 1. names vs a live scrape

    @Test
    @Order(1)
    void everyMetricTheDashboardAndAlertsUseIsExportedByTheRunningServices() throws Exception {
        // wait until the student has trained and evaluated, so every gauge has a real value
        await("student steps and evaluates", () -> {
            Scrape s = scrape(studentPort);
            return s.value("kdstream_student_steps_total").filter(v -> v > 0)
                    .flatMap(v -> s.value("kdstream_student_eval_accuracy_ratio")).filter(v -> !v.isNaN());
        }, work.resolve("logs/student.err"));
        await("teacher commits batches", () -> scrape(teacherPort).value("kdstream_teacher_batches_total")
                .filter(v -> v > 0), work.resolve("logs/teacher.err"));

        // kdstream_student_dlq_records_total{reason} is 0 for every reason until a dead letter: send the student one
        injectCorruptFeatureRecord();
        await("student dead-letters the corrupt record", () -> scrape(studentPort)
                .value("kdstream_student_dlq_records_total").filter(v -> v >= 1), work.resolve("logs/student.err"));

        Scrape t = scrape(teacherPort);
        Scrape s = scrape(studentPort);
        Map<String, List<Map<String, String>>> all = new HashMap<>(t.series);
        s.series.forEach((k, v) -> all.merge(k, v, (a, b) -> {
            List<Map<String, String>> m = new ArrayList<>(a);
            m.addAll(b);
            return m;
        }));

        List<String> exprs = new ArrayList<>(DeployTools.alertExpressions());
        exprs.addAll(DeployTools.dashboardExpressions());
        Set<String> used = DeployTools.metricNames(exprs);
        assertThat(used).hasSizeGreaterThan(20);
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(all.keySet());
        assertThat(missing).as("metric names used by dashboard/alerts but not exported by the services").isEmpty();

        Set<String> labels = new TreeSet<>(Set.of("job", "instance", "le")); // added by Prometheus / histograms
        all.values().forEach(list -> list.forEach(m -> labels.addAll(m.keySet())));
        assertThat(DeployTools.groupingLabels(exprs)).as("labels in by/on clauses").isSubsetOf(labels);

        for (DeployTools.Selector sel : DeployTools.selectors(exprs)) {
            if (sel.metric().equals("up") || sel.label().equals("job") || sel.label().equals("instance")) {
                continue;
            }
            List<Map<String, String>> series = all.get(sel.metric());
            assertThat(series).as("series of %s", sel.metric()).isNotNull();
            assertThat(series).as("%s has label %s", sel.metric(), sel.label()).anyMatch(m -> m.containsKey(sel.label()));
            if (sel.op().equals("=")) {
                assertThat(series).as("%s{%s=\"%s\"} exists", sel.metric(), sel.label(), sel.value())
                        .anyMatch(m -> sel.value().equals(m.get(sel.label())));
            }
        }
        // the label values the dashboard relies on for loss components and step phases
        assertThat(s.labelValues("kdstream_student_loss", "component")).contains("total", "ce", "feature", "kd");
        assertThat(s.labelValues("kdstream_student_step_seconds_bucket", "phase"))
                .contains("wait", "decode", "forward", "backward");
        assertThat(t.labelValues("kdstream_teacher_transactions_total", "outcome")).contains("commit", "abort");
    }

    // ------------------------------------------------------------------ 2. real Prometheus

    @Test
    @Order(2)
    void aRealPrometheusScrapesTheServicesEvaluatesTheRulesAndAnswersTheDashboardQueries() throws Exception {
        Optional<Path> prometheus = DeployTools.tool("prometheus");
        Prerequisites.assume(Need.TOOL, prometheus.isPresent(), "the prometheus binary is not installed (Debian package prometheus; "
                + ".ci/run installs it): skipping the real-Prometheus end-to-end test");
        Path alerts = deploy().resolve("prometheus/alerts.yml");
        Path config = work.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                scrape_configs:
                  - job_name: kdstream-teacher
                    static_configs:
                      - targets: ["127.0.0.1:%d"]
                  - job_name: kdstream-student
                    static_configs:
                      - targets: ["127.0.0.1:%d"]
                """.formatted(alerts, teacherPort, studentPort));
        int port = freePort();
        Path logs = work.resolve("logs");
        start(List.of(prometheus.get().toString(), "--config.file=" + config,
                "--storage.tsdb.path=" + work.resolve("prometheus-data"), "--storage.tsdb.retention.time=1h",
                "--web.listen-address=127.0.0.1:" + port, "--log.level=warn"),
                logs.resolve("prometheus.out"), logs.resolve("prometheus.err"));
        String api = "http://127.0.0.1:" + port;
        await("prometheus is ready", () -> get(api + "/-/ready").filter(b -> !b.isEmpty()), logs.resolve("prometheus.err"));

        // key series with sane values
        assertEventually(api, "up{job=\"kdstream-teacher\"}", v -> v == 1.0);
        assertEventually(api, "up{job=\"kdstream-student\"}", v -> v == 1.0);
        assertEventually(api, "kdstream_teacher_batches_total", v -> v > 0);
        assertEventually(api, "kdstream_teacher_samples_total", v -> v > 0);
        assertEventually(api, "kdstream_teacher_forward_seconds_count", v -> v > 0);
        assertEventually(api, "kdstream_student_steps_total", v -> v > 0);
        assertEventually(api, "kdstream_student_eval_accuracy_ratio", v -> v >= 0 && v <= 1);
        assertEventually(api, "kdstream_student_loss{component=\"total\"}", v -> Double.isFinite(v) && v > 0);
        assertEventually(api, "kdstream_student_progress_ratio", v -> v > 0 && v <= 1);
        assertEventually(api, "kdstream_student_consumer_lag_records", v -> v >= 0);
        assertEventually(api, "kdstream_student_orthogonality_error", v -> v >= 0 && v < 1e-3);
        assertEventually(api, "kdstream_student_checkpoint_age_seconds", v -> v >= 0 && v < 600);
        assertEventually(api, "sum(kdstream_student_dlq_records_total)", v -> v >= 1);
        // several scrapes happened: a rate over them is positive (student) or defined (a teacher
        // throttled by the lead bound may be paused at this moment)
        assertEventually(api, "rate(kdstream_student_samples_total[10s])", v -> v > 0);
        assertEventually(api, "rate(kdstream_teacher_samples_total[10s])", v -> v >= 0);
        assertThat(teacher.isAlive()).as("teacher still serving; its log: %s", logs.resolve("teacher.err")).isTrue();

        // the alert rules are loaded by a real server and evaluate without errors
        JsonNode groups = await("rules evaluated", () -> get(api + "/api/v1/rules").map(this::json)
                .map(j -> j.at("/data/groups")).filter(g -> g.size() > 0 && allEvaluated(g)), logs.resolve("prometheus.err"));
        int rules = 0;
        for (JsonNode g : groups) {
            for (JsonNode r : g.get("rules")) {
                rules++;
                assertThat(r.get("health").asText()).as("rule %s: %s", r.get("name"), r.path("lastError")).isEqualTo("ok");
            }
        }
        assertThat(rules).as("rules the server loaded, against alerts.yml").isEqualTo(DeployTools.alertRuleCount()).isPositive();

        // every dashboard query is valid PromQL for a real server; the data panels return data
        Map<String, String> empty = new LinkedHashMap<>();
        for (String expr : DeployTools.dashboardExpressions()) {
            String q = expr.replace("$__rate_interval", "15s").replace("$run", ".*").replace("$group", ".*");
            JsonNode r = json(get(api + "/api/v1/query?query=" + URLEncoder.encode(q, StandardCharsets.UTF_8))
                    .orElseThrow(() -> new AssertionError("no answer for " + q)));
            assertThat(r.path("status").asText()).as("%s -> %s", q, r).isEqualTo("success");
            if (r.at("/data/result").isEmpty()) {
                empty.put(q, r.toString());
            }
        }
        assertThat(empty).as("dashboard queries without data").isEmpty();
    }

    // ------------------------------------------------------------------ helpers

    private boolean allEvaluated(JsonNode groups) {
        for (JsonNode g : groups) {
            for (JsonNode r : g.get("rules")) {
                if (r.path("lastEvaluation").asText("").startsWith("0001")) {
                    return false;
                }
            }
        }
        return true;
    }

    private void assertEventually(String api, String query, Predicate<Double> sane) throws Exception {
        String url = api + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8);
        List<Double> last = new ArrayList<>();
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            last.clear();
            Optional<JsonNode> r = get(url).map(this::json);
            if (r.isPresent() && "success".equals(r.get().path("status").asText())) {
                for (JsonNode s : r.get().at("/data/result")) {
                    last.add(Double.parseDouble(s.at("/value/1").asText()));
                }
                if (!last.isEmpty() && last.stream().allMatch(sane)) {
                    return;
                }
            }
            Thread.sleep(250);
        }
        fail("Prometheus never returned sane values for " + query + " within " + DEADLINE + "; last: " + last);
    }

    private JsonNode json(String body) {
        try {
            return DeployTools.JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    private static Optional<String> get(String url) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Optional.of(r.body()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** One parsed /metrics page: metric name -> the label sets of its samples, and the sum of their values. */
    record Scrape(Map<String, List<Map<String, String>>> series, Map<String, Double> total) {

        /** The value of a metric, summed over its series (e.g. over the reasons of a counter). */
        Optional<Double> value(String name) {
            return Optional.ofNullable(total.get(name));
        }

        Set<String> labelValues(String name, String label) {
            Set<String> out = new TreeSet<>();
            series.getOrDefault(name, List.of()).forEach(m -> {
                if (m.containsKey(label)) {
                    out.add(m.get(label));
                }
            });
            return out;
        }
    }

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+).*$");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private Scrape scrape(int port) {
        String body = get("http://127.0.0.1:" + port + "/metrics").orElse("");
        Map<String, List<Map<String, String>>> series = new HashMap<>();
        Map<String, Double> total = new HashMap<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            if (m.group(2) != null) {
                Matcher lm = LABEL.matcher(m.group(2));
                while (lm.find()) {
                    labels.put(lm.group(1), lm.group(2));
                }
            }
            series.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(labels);
            total.merge(m.group(1), parse(m.group(3)), Double::sum);
        }
        return new Scrape(series, total);
    }

    private static double parse(String v) {
        return switch (v) {
            case "NaN" -> Double.NaN;
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(v);
        };
    }

    /** A record on the features topic that is not a feature batch: the student must dead-letter it. */
    private void injectCorruptFeatureRecord() throws Exception {
        Map<String, Object> props = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(RUN + ".features", 0, null,
                    "not a safetensors feature batch".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        }
    }

    private Process start(List<String> command, Path stdout, Path stderr) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("KDSTREAM_JAVA_OPTS", "-Xmx512m -XX:+UseSerialGC");
        Process p = pb.start();
        processes.add(p);
        errorLogs.put(p, stderr);
        return p;
    }

    private <T> T await(String what, Supplier<Optional<T>> condition, Path log) throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            Optional<T> v = condition.get();
            if (v.isPresent()) {
                return v.get();
            }
            for (Process p : processes) {
                if (!p.isAlive()) {
                    Path exited = errorLogs.get(p);
                    fail("a process exited (code " + p.exitValue() + ", " + exited.getFileName() + ") while waiting for: "
                            + what + "\n" + tail(exited) + (exited.equals(log) ? "" : "\n--- " + log.getFileName()
                            + ":\n" + tail(log)));
                }
            }
            Thread.sleep(250);
        }
        fail("timed out after " + DEADLINE + " waiting for: " + what + "\n" + tail(log));
        return null;
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String tail(Path log) {
        List<String> lines = readLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
