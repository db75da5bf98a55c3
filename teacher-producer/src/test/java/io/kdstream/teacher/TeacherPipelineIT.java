package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.service.MetricsServer;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.vkd.Normalization;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;

@RequiresDataset
@ExtendWith(KafkaExtension.class)
class TeacherPipelineIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 256, 3);

    @TempDir
    Path tmp;

    @Test
    void publishesLayerNormalizedFeaturesEqualToADirectForwardAndExposesItsMeters(TestKafka kafka) throws Exception {
        ImageDataset train = DATA.train();
        InputNormalization norm = InputNormalization.forDataset(train);
        PrometheusMeterRegistry registry = MetricsServer.newRegistry("teacher");
        TeacherMetrics teacherMetrics = new TeacherMetrics();
        teacherMetrics.bindTo(registry);
        try (DjlFeatureModel teacher = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "fashion-mnist", norm)) {
            teacher.save(tmp.resolve("teacher"));
            BatchSource batches = new BatchSource(train, 5L, 64, AugmentPolicy.parse("crop+flip"));
            RunSpec spec = RunSpec.builder().setRunId("pipe-" + UUID.randomUUID())
                    .setSource(DATA.id(), 10, java.util.List.of(1, 28, 28))
                    .setTeacher(teacher.id(), "pooled-features")
                    .setFeatures(teacher.featureDim(), Normalization.LAYER, DType.F32).optLogitClasses(10)
                    .optAugmentation(AugmentPolicy.parse("crop+flip"))
                    .setStream(64, batches.batchesPerEpoch(), 1, 5L).build();
            RunSetup.prepare(kafka.clients(), spec, RunSetup.Settings.defaults());
            try (TeacherPipeline pipeline = new TeacherPipeline(teacher, batches, norm, Normalization.LAYER.create(),
                    spec, "t1", teacherMetrics);
                 MetricsServer metrics = MetricsServer.start(registry, 0, () -> true)) {
                TeacherWorker worker = TeacherWorker.builder().setClients(kafka.clients()).setRunSpec(spec)
                        .setSource(pipeline).optInstanceId("pipe-" + spec.runId()).optRegistry(registry)
                        .optMetrics(teacherMetrics).build();
                Thread t = new Thread(worker);
                t.start();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(worker::isReady);
                // Kafka client meters exist while the worker's clients are open
                String live = scrape(metrics);
                assertThat(live).contains("kafka_producer_", "kafka_consumer_");
                t.join(120_000);
                assertThat(t.isAlive()).isFalse();

                Map<String, FeatureBatch> got = TeacherWorkerIT.readAll(kafka.clients(), spec, spec.batchesPerEpoch());
                FeatureBatch b0 = got.get("0/1");
                float[] f = b0.teacherFeatures().toFloats();
                int d = spec.featureDim();
                for (int row = 0; row < b0.batchSize(); row++) {
                    double mean = 0;
                    double sq = 0;
                    for (int k = 0; k < d; k++) {
                        mean += f[row * d + k];
                        sq += f[row * d + k] * f[row * d + k];
                    }
                    mean /= d;
                    assertThat(mean).as("layer-normalized row %d has mean 0", row).isBetween(-1e-4, 1e-4);
                    assertThat(Math.sqrt(sq / d - mean * mean)).as("and std 1").isBetween(0.99, 1.01);
                }
                // the same batch computed directly in this process
                try (NDManager m = NDManager.newBaseManager("PyTorch")) {
                    NDArray x = batches.batch(0, 1).toModelInput(m, norm);
                    float[] direct = Normalization.LAYER.create().normalize(teacher.features(x)).toFloatArray();
                    assertThat(f).containsExactly(direct, org.assertj.core.data.Offset.offset(1e-5f));
                    assertThat(b0.teacherLogits().toFloats())
                            .containsExactly(teacher.logits(x).toFloatArray(), org.assertj.core.data.Offset.offset(1e-5f));
                }
                assertThat(b0.inputs().toByteArray()).isEqualTo(batches.batch(0, 1).inputs());

                assertThat(scrape(metrics)).contains("kdstream_teacher_batches_total", "kdstream_teacher_samples_total",
                        "kdstream_teacher_forward_seconds_bucket", "kdstream_teacher_encode_seconds_count",
                        "kdstream_teacher_sent_bytes_total", "kdstream_teacher_transactions_total{outcome=\"commit\"",
                        "kdstream_teacher_work_items_in_progress", "kdstream_teacher_paused_seconds_total",
                        "jvm_memory_used_bytes");
            }
        }
    }

    private static String scrape(MetricsServer metrics) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + metrics.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void aBrokerThatIsDownGivesAClearErrorAfterABoundedWait() throws Exception {
        ImageDataset train = DATA.train();
        try (DjlFeatureModel teacher = DjlFeatureModel.create(Architecture.MLP, 1, 28, 28, 10, "fashion-mnist",
                InputNormalization.forDataset(train))) {
            teacher.save(tmp.resolve("t"));
        }
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new TeacherCommand()).setErr(new PrintWriter(err));
        long t0 = System.nanoTime();
        int code = cmd.execute("--run", "down", "--bootstrap-servers", "127.0.0.1:" + closedPort, "--teacher",
                tmp.resolve("t").toString(), "--train-limit", "256", "--kafka-timeout", "PT5S");
        long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
        assertThat(code).isNotZero();
        assertThat(seconds).as("bounded by --kafka-timeout").isLessThan(60);
        assertThat(err.toString()).containsIgnoringCase("reachable");
    }
}
